"""The console: server-rendered pages with htmx for live parts. Thin: it calls the services."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk import subjects as subject_views
from trustdesk.auth import rate_limits, staff
from trustdesk.auth.staff import LoginOutcome
from trustdesk.cases import access
from trustdesk.cases.subject_file import load_subject_file
from trustdesk.domain import media_types
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import NotFound
from trustdesk.domain.roles import REVEALERS, REVIEWERS
from trustdesk.domain.vocabulary import MediaStatus, Role
from trustdesk.enforcement import appeals
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Policy, ReportCounter, SubjectCounter
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.permissions import (
    COMMITTED,
    SESSION_COOKIE,
    StaffContext,
    get_db,
    public,
    read_session,
    staff_with,
)
from trustdesk.web.security_headers import MEDIA_CSP

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC = Path(__file__).parent / "static"

_MESSAGES = {
    LoginOutcome.BAD_CREDENTIALS: "Wrong username or password.",
    LoginOutcome.NEED_TOTP: "Enter the 6-digit code from your authenticator app.",
    LoginOutcome.BAD_TOTP: "That code is not valid or was already used; wait for the next one and check your authenticator's clock.",
    LoginOutcome.TOTP_NOT_ENROLLED: "Your roles require a second factor; ask an admin to enrol you (trustdesk users create --totp).",
}
LOGIN_ATTEMPTS_PER_MINUTE = 20
# Login has no session yet, so its CSRF token is a random value in a cookie that the form must
# echo (double submit): another site can make a browser post the form, but cannot read the cookie.
LOGIN_CSRF_COOKIE = "trustdesk_login_csrf"


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    base = {"relax_totp": settings.relax_totp, "env": settings.env}
    return templates.TemplateResponse(request, name, base | context, status_code=status_code)


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/favicon.ico", dependencies=[Depends(public())])
def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.ico", media_type="image/vnd.microsoft.icon")


@router.get("/docs", dependencies=[Depends(public())])
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI document in the vendored Swagger UI: it needs nothing from the internet."""
    return templates.TemplateResponse(request, "docs.html", {"title": request.app.title, "openapi_url": request.app.openapi_url})


def _locked_message(seconds: int) -> str:
    """The same words whether or not the username exists: the lock is per username and address."""
    minutes = max(1, -(-seconds // 60))
    return f"Too many failed attempts for this username from your address. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _login_form(
    request: Request, next: str, *, username: str = "", error: str | None = None, need_totp: bool = False,
    status_code: int = 200, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    context = {"next": _safe_next(next), "error": error, "need_totp": need_totp, "username": username, "login_csrf": token}
    response = render(request, "login.html", context, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.app.state.settings.is_production, path="/login")
    response.headers.update(headers or {})
    return response


@router.get("/login", dependencies=[Depends(public())])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _login_form(request, next)


@router.post("/login", dependencies=[Depends(public())])
def login(
    request: Request,
    username: str = Form(..., max_length=100),
    password: str = Form(..., max_length=500),
    totp: str | None = Form(None, max_length=12),
    next: str = Form("/"),
    csrf_token: str = Form("", max_length=100),
    db: Database = Depends(get_db),
) -> Response:
    settings = request.app.state.settings
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(request, next, username=username, status_code=403,
                           error="This login form had expired or came from elsewhere; please log in again here.")
    # From a trusted proxy's X-Forwarded-For this is whatever it forwarded: keep it to the column's size.
    address = (request.client.host if request.client else "unknown")[:64]
    with db.session() as session:
        allowed = rate_limits.hit(session, f"login:{address}", limit=LOGIN_ATTEMPTS_PER_MINUTE, window_seconds=60)
        if not allowed:
            return _login_form(request, next, username=username, status_code=429, headers={"Retry-After": "60"},
                               error="Too many login attempts from your address. Wait a minute, then try again.")
        result = staff.authenticate(session, settings, username.strip(), password, totp or None, address=address)
        token = staff.open_session(session, settings, result.user) if result.outcome is LoginOutcome.OK and result.user else None
    if result.outcome is LoginOutcome.LOCKED:
        return _login_form(request, next, username=username, error=_locked_message(result.retry_after), status_code=429,
                           headers={"Retry-After": str(result.retry_after)})
    if token is None:
        return _login_form(
            request, next, username=username, error=_MESSAGES[result.outcome],
            need_totp=result.outcome in (LoginOutcome.NEED_TOTP, LoginOutcome.BAD_TOTP),
            status_code=200 if result.outcome is LoginOutcome.NEED_TOTP else 401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.is_production,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, _who: StaffContext = Depends(staff_with()), db: Database = Depends(get_db)) -> Response:
    with db.session() as session:
        staff.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _counts(session: Session, who: StaffContext) -> dict[str, Any]:
    """Read from the maintained counters (`trustdesk.store.counters`): this is polled every 10 s.
    The latest audit events are everyone's for an admin and the reader's own for anyone else: the
    log names legal, privacy and child-safety work that is not everyone's to know of."""
    by_policy = session.execute(
        select(ReportCounter.policy_code, Policy.title, ReportCounter.open)
        .join(Policy, (Policy.code == ReportCounter.policy_code) & Policy.is_current.is_(True))
        .where(ReportCounter.open > 0)
        .order_by(ReportCounter.open.desc(), ReportCounter.policy_code)
    ).all()
    subjects = session.execute(
        select(SubjectCounter.kind, SubjectCounter.total).where(SubjectCounter.total > 0).order_by(SubjectCounter.kind)
    ).all()
    latest = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(15)
    if not who.has(Role.ADMIN):
        latest = latest.where(AuditEvent.actor_type == who.actor.type, AuditEvent.actor_id == who.actor.id)
    recent = session.execute(latest).scalars().all()
    return {
        "open_by_policy": by_policy,
        "open_total": sum(row[2] for row in by_policy),
        "subjects_by_kind": subjects,
        "subjects_total": sum(row[1] for row in subjects),
        "recent": recent,
    }


@router.get("/")
def home(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    return render(request, "home.html", {"who": who} | _counts(session, who))


@router.get("/home/counts")
def home_counts(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    """The live part of the home page, polled by htmx."""
    return render(request, "_counts.html", {"who": who} | _counts(session, who))


# Fixed messages named in redirects to the subject page, so a URL cannot put words on it.
SUBJECT_NOTICES = {"appeal-filed": "Appeal filed. It waits in its queue for a reviewer who did not make the decision."}


def subject_view(
    request: Request, who: StaffContext, session: Session, subject_id: int, *, events_after: str | None = None,
    notice: str | None = None, error: str | None = None, status: int = 200, statement: str = "",
) -> HTMLResponse:
    """The subject page; a failed form on it (filing an appeal) shows its error and keeps the words typed."""
    found = load_subject_file(session, who.reviewer, subject_id, events_after)
    context = {
        "who": who, "tree": found.tree, "file": found,
        "hidden_personal": subject_views.hidden_personal_fields(session, found.tree.subject), "may_reveal": who.has(*REVEALERS),
        "decisions": appeals.decisions_on(session, subject_id), "user_may_appeal": appeals.user_may_appeal,
        "may_file_appeal": who.has(*REVIEWERS), "notice": SUBJECT_NOTICES.get(notice or ""), "error": error,
        "statement": statement,
    }
    return render(request, "subject.html", context, status_code=status)


@router.get("/subjects/{subject_id}")
def subject_page(
    request: Request, subject_id: RowId, events_after: str | None = Query(None, max_length=1000), notice: str | None = None,
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    """A subject with its account, open cases, strikes, decisions (and their appeals), related
    accounts, history and (an account) its events; one in a queue the caller may not see is not found."""
    return subject_view(request, who, session, subject_id, events_after=events_after, notice=notice)


@router.get("/subjects/{subject_id}/media")
def subject_media(
    request: Request, subject_id: RowId,
    who: StaffContext = Depends(staff_with()), session: Session = COMMITTED,
) -> StreamingResponse:
    """The subject's first media item (see `subject_media_item`)."""
    return _media_response(request, session, who, subject_id, None)


@router.get("/subjects/{subject_id}/media/{item_id}")
def subject_media_item(
    request: Request, subject_id: RowId, item_id: RowId,
    who: StaffContext = Depends(staff_with()), session: Session = COMMITTED,
) -> StreamingResponse:
    """One media item's bytes. Only allow-listed image, video and audio types are served for
    showing; everything else is a download of opaque bytes. Either way the bytes are sandboxed
    and never sniffed, so a file cannot run script in the console. Opening graphic or
    child-safety media is an audited read."""
    return _media_response(request, session, who, subject_id, item_id)


def _media_response(request: Request, session: Session, who: StaffContext, subject_id: int, item_id: int | None) -> StreamingResponse:
    subject = access.visible_subject(session, who.reviewer, subject_id)
    item = subject_views.media_item(session, subject_id, item_id)
    if item is None:
        raise NotFound("subject_id", "no such media for this subject")
    if item.blob_sha256 is None or item.status == MediaStatus.REFUSED:
        raise NotFound("item_id", f"media item {item.id} is {item.status}: nothing to show")
    subject_views.open_media(session, who.actor, subject, item)
    try:
        stream = request.app.state.blobs.open(item.blob_sha256)
    except FileNotFoundError as exc:
        raise NotFound("item_id", "the media file is missing from the blob store") from exc
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": MEDIA_CSP}
    if item.inline and item.content_type:
        return StreamingResponse(stream, media_type=item.content_type, headers=headers)
    extension = media_types.named(item.content_type).extension
    headers["Content-Disposition"] = f'attachment; filename="subject-{subject.id}-media-{item.id}.{extension}"'
    return StreamingResponse(stream, media_type="application/octet-stream", headers=headers)


@router.post("/subjects/{subject_id}/reveal")
def reveal(
    request: Request, subject_id: RowId, reason: str = Form(..., min_length=3, max_length=500),
    who: StaffContext = Depends(staff_with(*REVEALERS)), session: Session = COMMITTED,
) -> HTMLResponse:
    """Show personal fields and an account's identifiers to someone who states why; audited."""
    subject = access.visible_subject(session, who.reviewer, subject_id)
    fields = subject_views.reveal_personal(session, who.actor, subject, reason)
    return render(request, "_personal.html", {"fields": fields})

