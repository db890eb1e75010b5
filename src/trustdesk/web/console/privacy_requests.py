"""Console pages for privacy requests, for privacy staff: the deadline dashboard with a form to
take a request in, and each request's page to verify the requester's identity, record that
receipt was confirmed (CCPA), extend the deadline with a reason, download the access export,
answer (an erasure erases, a rectification keeps the person's statement) or refuse, and lift
an answered restriction.

Thin: `trustdesk.privacy.requests` and `access_export` do the work and audit it.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.delivery.endpoints import app_named
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError
from trustdesk.domain.legal_deadlines import Regime
from trustdesk.domain.privacy_requests import (
    CORRECTIONS,
    EXPORTS,
    MAX_CONTACT,
    MAX_NAME,
    MAX_PAUSED_DAYS,
    MAX_STATEMENT,
    MAX_TEXT,
    RESTRICTIONS,
    RequestSpec,
    RequestType,
)
from trustdesk.domain.roles import PRIVACY_STAFF
from trustdesk.privacy import access_export, requests
from trustdesk.privacy.deletion import remove_files
from trustdesk.store.database import Database
from trustdesk.store.models import App, Subject, utcnow
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, get_db, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates.env.globals["may_answer_privacy"] = lambda who: who.has(*PRIVACY_STAFF)  # the nav link only for them
PRIVACY = staff_with(*PRIVACY_STAFF)
NOTICES = {"received": "Request taken in: its case waits in the Privacy requests queue.", "verified": "Identity check recorded.",
           "extended": "Deadline extended.", "answered": "Request answered.", "refused": "Request refused.",
           "confirmed": "Receipt confirmation recorded.", "lifted": "Restriction lifted: the person's content goes to automated analysis again."}


def _dashboard(request: Request, who: StaffContext, session: Session, *, error: FieldError | None = None,
               form: dict[str, str] | None = None, status: int = 200, closed: bool = False) -> HTMLResponse:
    today = utcnow().date()
    context = {"who": who, "rows": requests.dashboard(session, today, include_closed=closed), "today": today, "closed": closed,
               "regimes": list(Regime), "types": list(RequestType), "error": error, "form": form or {},
               "apps": session.execute(select(App.slug).order_by(App.slug)).scalars().all()}
    return render(request, "privacy_requests.html", context, status_code=status)


@router.get("/privacy-requests")
def dashboard(request: Request, closed: bool = False, who: StaffContext = Depends(PRIVACY),
              session: Session = Depends(read_session)) -> HTMLResponse:
    """Open requests by the date they are due, breaches first in red (with `closed`: answered ones too)."""
    return _dashboard(request, who, session, closed=closed)


@router.post("/privacy-requests")
def take_in(
    request: Request, app: str = Form("", max_length=64), subject: str = Form("", max_length=200),
    regime: str = Form("", max_length=32), request_type: str = Form("", max_length=32),
    requester_name: str = Form("", max_length=MAX_NAME), requester_contact: str = Form("", max_length=MAX_CONTACT),
    received_on: str = Form("", max_length=10), details: str = Form("", max_length=MAX_TEXT),
    who: StaffContext = Depends(PRIVACY), session: Session = COMMITTED,
) -> Response:
    form = {"app": app, "subject": subject, "regime": regime, "request_type": request_type, "requester_name": requester_name,
            "requester_contact": requester_contact, "received_on": received_on, "details": details}
    try:
        with session.begin_nested():
            spec = RequestSpec(subject, regime, request_type, requester_name, requester_contact, _date(received_on), details)
            opened = requests.open_request(session, who.actor, app_named(session, app).id, spec)
    except FieldError as exc:
        return _dashboard(request, who, session, error=exc, form=form, status=exc.status)
    return RedirectResponse(f"/privacy-requests/{opened.id}?notice=received", status_code=303)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise FieldError("received_on", "a date, such as 2027-01-31") from exc


@router.get("/privacy-requests/{request_id}")
def request_page(request: Request, request_id: RowId, notice: str | None = None,
                 who: StaffContext = Depends(PRIVACY), session: Session = Depends(read_session)) -> HTMLResponse:
    """The request: requester, subject, regime and clock, identity check, and what may be done next."""
    found = requests.request_of(session, request_id)
    context = {"who": who, "r": found, "subject": session.get_one(Subject, found.subject_id), "due": requests.legal_due(found),
               "today": utcnow().date(), "citation": requests.citation(found.regime), "exports": RequestType(found.request_type) in EXPORTS,
               "corrects": RequestType(found.request_type) in CORRECTIONS, "restricts": RequestType(found.request_type) in RESTRICTIONS,
               "max_statement": MAX_STATEMENT,
               "max_paused": MAX_PAUSED_DAYS, "notice": NOTICES.get(notice or "")}
    return render(request, "privacy_request.html", context)


@router.post("/privacy-requests/{request_id}/verify")
def verify(request_id: RowId, outcome: str = Form("", max_length=16), note: str = Form("", max_length=2000),
           paused_days: int = Form(0, ge=0, le=MAX_PAUSED_DAYS), who: StaffContext = Depends(PRIVACY), session: Session = COMMITTED) -> Response:
    if outcome not in ("verified", "failed"):
        raise FieldError("outcome", "verified or failed")
    requests.verify(session, who.actor, request_id, outcome == "verified", note, paused_days=paused_days)
    return RedirectResponse(f"/privacy-requests/{request_id}?notice=verified", status_code=303)


@router.post("/privacy-requests/{request_id}/confirm-receipt")
def confirm_receipt(request_id: RowId, how: str = Form("", max_length=2000), who: StaffContext = Depends(PRIVACY),
                    session: Session = COMMITTED) -> Response:
    requests.confirm_receipt(session, who.actor, request_id, how)
    return RedirectResponse(f"/privacy-requests/{request_id}?notice=confirmed", status_code=303)


@router.post("/privacy-requests/{request_id}/extend")
def extend(request_id: RowId, reason: str = Form("", max_length=2000), who: StaffContext = Depends(PRIVACY),
           session: Session = COMMITTED) -> Response:
    requests.extend(session, who.actor, request_id, reason, utcnow().date())
    return RedirectResponse(f"/privacy-requests/{request_id}?notice=extended", status_code=303)


@router.post("/privacy-requests/{request_id}/export")
def export(request_id: RowId, who: StaffContext = Depends(PRIVACY), db: Database = Depends(get_db)) -> Response:
    """The access export as a download; each download is on the audit log, once it is built."""
    with db.reader() as session:
        data = access_export.export_bytes(session, request_id)
    with db.session() as session:
        access_export.record_export(session, who.actor, request_id)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="privacy-request-{request_id}.zip"'})


@router.post("/privacy-requests/{request_id}/complete")
def complete(request: Request, request_id: RowId, answer: str = Form("", max_length=MAX_TEXT),
             statement: str = Form("", max_length=MAX_STATEMENT), who: StaffContext = Depends(PRIVACY),
             db: Database = Depends(get_db)) -> Response:
    """Answer the request; an erasure erases what no hold covers and the answer says what was kept."""
    with db.session() as session:
        done = requests.complete(session, who.actor, request_id, answer, statement)
    remove_files(db, request.app.state.blobs, done.blobs)  # once committed: a rollback must find its files
    return RedirectResponse(f"/privacy-requests/{request_id}?notice=answered", status_code=303)


@router.post("/privacy-requests/{request_id}/refuse")
def refuse(request_id: RowId, answer: str = Form("", max_length=MAX_TEXT), who: StaffContext = Depends(PRIVACY),
           session: Session = COMMITTED) -> Response:
    requests.refuse(session, who.actor, request_id, answer)
    return RedirectResponse(f"/privacy-requests/{request_id}?notice=refused", status_code=303)


@router.post("/privacy-requests/{request_id}/lift")
def lift(request_id: RowId, reason: str = Form("", max_length=2000), who: StaffContext = Depends(PRIVACY),
         session: Session = COMMITTED) -> Response:
    """End an answered restriction (the person is told first, GDPR Art. 18(3))."""
    requests.lift_restriction(session, who.actor, request_id, reason)
    return RedirectResponse(f"/privacy-requests/{request_id}?notice=lifted", status_code=303)
