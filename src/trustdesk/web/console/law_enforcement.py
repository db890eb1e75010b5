"""Console pages for law-enforcement and regulatory requests, for legal staff: the deadline
dashboard (emergencies first, overdue highlighted) with the intake form, and each request's
page with legal review (approve / narrow / reject with reasons), disclosure and closure.

Thin: `trustdesk.law_enforcement.requests` does the work and audits every step.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.delivery.endpoints import app_named
from trustdesk.domain.errors import FieldError
from trustdesk.domain.law_enforcement import MAX_REASONS, MAX_SUBJECTS, MAX_TEXT, Intake, ReviewOutcome
from trustdesk.domain.legal_deadlines import Instrument
from trustdesk.domain.roles import LEGAL_REQUEST_STAFF
from trustdesk.domain.client_input import RowId, time_of
from trustdesk.hash_banks.matcher import BankMatcher
from trustdesk.law_enforcement import requests
from trustdesk.store.database import Database
from trustdesk.store.models import App
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, get_db, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates.env.globals["may_answer_authorities"] = lambda who: who.has(*LEGAL_REQUEST_STAFF)  # the nav link only for them
LEGAL = staff_with(*LEGAL_REQUEST_STAFF)
NOTICES = {"received": "Request received: its case is in the law-enforcement requests queue.", "in_review": "Legal review started.",
           "reviewed": "Review recorded.", "closed": "Request closed."}
FIELDS = ("app", "agency", "officer_name", "officer_email", "officer_phone", "instrument", "reference", "subjects", "received_at",
          "due_at", "emergency", "non_disclosure", "non_disclosure_until")


def _dashboard(request: Request, who: StaffContext, session: Session, *, error: FieldError | None = None,
               form: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    context = {"who": who, "rows": requests.dashboard(session), "instruments": list(Instrument), "error": error, "form": form or {},
               "apps": session.execute(select(App.slug).order_by(App.slug)).scalars().all()}
    return render(request, "law_enforcement_requests.html", context, status_code=status)


@router.get("/law-enforcement-requests")
def dashboard(request: Request, who: StaffContext = Depends(LEGAL), session: Session = Depends(read_session)) -> HTMLResponse:
    """Open requests by deadline: emergencies first, overdue ones highlighted."""
    return _dashboard(request, who, session)


@router.post("/law-enforcement-requests")
def receive(
    request: Request, app: str = Form("", max_length=64), agency: str = Form("", max_length=MAX_TEXT),
    officer_name: str = Form("", max_length=MAX_TEXT), officer_email: str = Form("", max_length=MAX_TEXT),
    officer_phone: str = Form("", max_length=MAX_TEXT), instrument: str = Form("", max_length=40),
    reference: str = Form("", max_length=MAX_TEXT), subjects: str = Form("", max_length=20_000),
    received_at: str = Form("", max_length=40), due_at: str = Form("", max_length=40), emergency: str = Form("", max_length=8),
    non_disclosure: str = Form("", max_length=8), non_disclosure_until: str = Form("", max_length=10),
    who: StaffContext = Depends(LEGAL), db: Database = Depends(get_db),
) -> Response:
    """Record a request as it arrived (by mail, fax or the agency's portal)."""
    form = dict(zip(FIELDS, (app, agency, officer_name, officer_email, officer_phone, instrument, reference, subjects, received_at,
                             due_at, emergency, non_disclosure, non_disclosure_until)))
    try:
        with db.session() as session:
            intake = Intake(agency, officer_name, officer_email, officer_phone, instrument, reference, tuple(subjects.splitlines()),
                            _moment("received_at", received_at) or datetime.now(timezone.utc), _moment("due_at", due_at),
                            bool(emergency), bool(non_disclosure), _date("non_disclosure_until", non_disclosure_until))
            filed, _created = requests.receive(session, who.actor, app_named(session, app).id, intake,
                                               bank_matches=requests.bank_matches_of(db.shared(BankMatcher)))
            request_id = filed.id
    except FieldError as exc:
        with db.reader() as session:
            return _dashboard(request, who, session, error=exc, form=form, status=exc.status)
    return RedirectResponse(f"/law-enforcement-requests/{request_id}?notice=received", status_code=303)


def _moment(field: str, text: str) -> datetime | None:
    """A time as the form's datetime-local gives it, read as UTC."""
    return time_of(field, text, "a date and time, such as 2027-01-31T17:00") if text else None


def _date(field: str, text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise FieldError(field, "a date, such as 2027-01-31") from exc


@router.get("/law-enforcement-requests/{request_id}")
def request_page(request: Request, request_id: RowId, notice: str | None = None,
                 who: StaffContext = Depends(LEGAL), session: Session = Depends(read_session)) -> HTMLResponse:
    """The request: agency and officer, instrument and deadline, subjects, known copies, review and disclosure."""
    found = requests.request_of(session, request_id)
    context = {"who": who, "r": found, "subjects": requests.subjects_of(session, found), "outcomes": list(ReviewOutcome),
               "notice": NOTICES.get(notice or ""), "overdue": requests.dashboard_row(found).overdue}
    return render(request, "law_enforcement_request.html", context)


@router.post("/law-enforcement-requests/{request_id}/review/start")
def start_review(request_id: RowId, who: StaffContext = Depends(LEGAL), session: Session = COMMITTED) -> Response:
    requests.start_review(session, who.actor, request_id)
    return RedirectResponse(f"/law-enforcement-requests/{request_id}?notice=in_review", status_code=303)


@router.post("/law-enforcement-requests/{request_id}/review")
def review(
    request_id: RowId, outcome: str = Form("", max_length=16), reasons: str = Form("", max_length=MAX_REASONS),
    subject: list[str] = Form([], max_length=MAX_SUBJECTS), who: StaffContext = Depends(LEGAL), session: Session = COMMITTED,
) -> Response:
    """Approve, narrow (to the ticked subjects, by the host platform's ids) or reject, with reasons."""
    named = requests.subjects_of(session, requests.request_of(session, request_id))
    kept = [s.id for s in named if s.external_id in set(subject)] if outcome == ReviewOutcome.NARROW else []
    requests.review(session, who.actor, request_id, outcome, reasons, kept)
    return RedirectResponse(f"/law-enforcement-requests/{request_id}?notice=reviewed", status_code=303)


@router.post("/law-enforcement-requests/{request_id}/disclose")
def disclose(request: Request, request_id: RowId, reason: str = Form("", max_length=MAX_REASONS),
             who: StaffContext = Depends(LEGAL), session: Session = COMMITTED) -> Response:
    """The disclosure package as a download; its SHA-256 stays with the request."""
    data = requests.disclose(session, who.actor, request.app.state.blobs, request_id, reason)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="disclosure-request-{request_id}.zip"'})


@router.post("/law-enforcement-requests/{request_id}/close")
def close(request_id: RowId, reason: str = Form("", max_length=MAX_REASONS),
          who: StaffContext = Depends(LEGAL), session: Session = COMMITTED) -> Response:
    requests.close(session, who.actor, request_id, reason)
    return RedirectResponse(f"/law-enforcement-requests/{request_id}?notice=closed", status_code=303)
