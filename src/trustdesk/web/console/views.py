"""The console: server-rendered pages with htmx for live parts. Thin: it calls the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk import subjects as subject_views
from trustdesk.auth import rate_limits, staff
from trustdesk.auth.staff import LoginOutcome
from trustdesk.domain import media_types
from trustdesk.domain.vocabulary import MediaStatus, Role
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Policy, Report, Subject
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

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC = Path(__file__).parent / "static"

_MESSAGES = {
    LoginOutcome.BAD_CREDENTIALS: "Wrong username or password.",
    LoginOutcome.NEED_TOTP: "Enter the 6-digit code from your authenticator app.",
    LoginOutcome.BAD_TOTP: "That code is not valid; check your authenticator's clock.",
    LoginOutcome.TOTP_NOT_ENROLLED: "Your roles require a second factor; ask an admin to enrol you (trustdesk users create --totp).",
    LoginOutcome.LOCKED: "Too many failed attempts: the account is locked for a while.",
}
LOGIN_ATTEMPTS_PER_MINUTE = 20


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


@router.get("/login", dependencies=[Depends(public())])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "need_totp": False, "username": ""})


@router.post("/login", dependencies=[Depends(public())])
def login(
    request: Request,
    username: str = Form(..., max_length=100),
    password: str = Form(..., max_length=500),
    totp: str | None = Form(None, max_length=12),
    next: str = Form("/"),
    db: Database = Depends(get_db),
) -> Response:
    settings = request.app.state.settings
    client_ip = request.client.host if request.client else "unknown"
    with db.session() as session:
        if not rate_limits.hit(session, f"login:{client_ip}", limit=LOGIN_ATTEMPTS_PER_MINUTE, window_seconds=60):
            raise HTTPException(429, "login: too many attempts from this address; wait a minute")
        result = staff.authenticate(session, settings, username.strip(), password, totp or None)
        token = staff.open_session(session, settings, result.user) if result.outcome is LoginOutcome.OK and result.user else None
    if token is None:
        context = {
            "next": _safe_next(next), "error": _MESSAGES[result.outcome], "username": username,
            "need_totp": result.outcome in (LoginOutcome.NEED_TOTP, LoginOutcome.BAD_TOTP),
        }
        return render(request, "login.html", context, status_code=200 if result.outcome is LoginOutcome.NEED_TOTP else 401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.is_production,
        max_age=settings.session_hours * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, _who: StaffContext = Depends(staff_with()), db: Database = Depends(get_db)) -> Response:
    with db.session() as session:
        staff.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _counts(session: Session) -> dict[str, Any]:
    by_policy = session.execute(
        select(Report.policy_code, Policy.title, func.count())
        .join(Policy, (Policy.code == Report.policy_code) & Policy.is_current.is_(True))
        .where(Report.status == "open")
        .group_by(Report.policy_code, Policy.title)
        .order_by(func.count().desc())
    ).all()
    subjects = session.execute(select(Subject.kind, func.count()).group_by(Subject.kind).order_by(Subject.kind)).all()
    recent = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(15)).scalars().all()
    return {
        "open_by_policy": by_policy,
        "open_total": sum(row[2] for row in by_policy),
        "subjects_by_kind": subjects,
        "subjects_total": sum(row[1] for row in subjects),
        "recent": recent,
    }


@router.get("/")
def home(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    return render(request, "home.html", {"who": who} | _counts(session))


@router.get("/home/counts")
def home_counts(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    """The live part of the home page, polled by htmx."""
    return render(request, "_counts.html", {"who": who} | _counts(session))


@router.get("/subjects/{subject_id}")
def subject_page(
    request: Request, subject_id: int,
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    subject = session.get(Subject, subject_id, options=[subject_views.WITH_MEDIA])
    if subject is None:
        raise HTTPException(404, "subject_id: no such subject")
    tree = subject_views.load_tree(session, subject)
    return render(request, "subject.html", {"who": who, "tree": tree, "redacted": subject_views.redacted})


@router.get("/subjects/{subject_id}/media")
def subject_media(
    request: Request, subject_id: int,
    who: StaffContext = Depends(staff_with()), session: Session = COMMITTED,
) -> StreamingResponse:
    """The subject's first media item (see `subject_media_item`)."""
    return _media_response(request, session, who, subject_id, None)


@router.get("/subjects/{subject_id}/media/{item_id}")
def subject_media_item(
    request: Request, subject_id: int, item_id: int,
    who: StaffContext = Depends(staff_with()), session: Session = COMMITTED,
) -> StreamingResponse:
    """One media item's bytes. Only allow-listed image, video and audio types are served for
    showing; everything else is a download of opaque bytes. Either way the bytes are sandboxed
    and never sniffed, so a file cannot run script in the console. Opening graphic or
    child-safety media is an audited read."""
    return _media_response(request, session, who, subject_id, item_id)


def _media_response(request: Request, session: Session, who: StaffContext, subject_id: int, item_id: int | None) -> StreamingResponse:
    subject = session.get(Subject, subject_id)
    item = subject_views.media_item(session, subject_id, item_id) if subject else None
    if subject is None or item is None:
        raise HTTPException(404, "subject_id: no such media for this subject")
    if item.blob_sha256 is None or item.status == MediaStatus.REFUSED:
        raise HTTPException(404, f"item_id: media item {item.id} is {item.status}: nothing to show")
    subject_views.open_media(session, who.actor, subject, item)
    try:
        stream = request.app.state.blobs.open(item.blob_sha256)
    except FileNotFoundError as exc:
        raise HTTPException(404, "item_id: the media file is missing from the blob store") from exc
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": MEDIA_CSP}
    if item.inline and item.content_type:
        return StreamingResponse(stream, media_type=item.content_type, headers=headers)
    extension = media_types.named(item.content_type).extension
    headers["Content-Disposition"] = f'attachment; filename="subject-{subject.id}-media-{item.id}.{extension}"'
    return StreamingResponse(stream, media_type="application/octet-stream", headers=headers)


@router.post("/subjects/{subject_id}/reveal")
def reveal(
    request: Request, subject_id: int, reason: str = Form(..., min_length=3, max_length=500),
    who: StaffContext = Depends(staff_with(Role.MODERATOR, Role.SENIOR, Role.ESCALATIONS, Role.PRIVACY, Role.LEGAL, Role.CHILD_SAFETY, Role.ADMIN)),
    session: Session = COMMITTED,
) -> HTMLResponse:
    """Show personal fields to a reviewer who states why; the reveal is an audited event."""
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise HTTPException(404, "subject_id: no such subject")
    fields = subject_views.reveal_personal(session, who.actor, subject, reason)
    return render(request, "_personal.html", {"fields": fields})

