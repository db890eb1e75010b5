"""The case page's escalation forms: hand the case up to a tier, or send it back with a note.

Thin: `trustdesk.cases.escalations` holds the rules; a refusal is shown on the case page,
naming the field. Someone who escalates a case to a tier they may not see is sent to the
queues, since the case page would now answer 404 for them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.cases import access, escalations
from trustdesk.cases.escalations import EscalationRequest
from trustdesk.domain.client_input import RowId, time_of
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.roles import CASE_STAFF, TIER_STAFF
from trustdesk.store.models import Case, Queue
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.review import case_view
from trustdesk.web.permissions import COMMITTED, StaffContext, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)


def _notified(answer: str) -> bool | None:
    """The form's yes / no / unanswered for "were the authorities notified?"."""
    return {"yes": True, "no": False}.get(answer)


def _when(text: str) -> datetime | None:
    """A `datetime-local` box, read as UTC (the page says so); FieldError if it is no time."""
    if not text.strip():
        return None
    return time_of("authorities_notified_at", text, f"not a date and time: {text[:40]!r}")


@router.post("/cases/{case_id}/escalate")
def escalate(
    request: Request, case_id: RowId, tier: str = Form("", max_length=32), reason: str = Form("", max_length=4000),
    urgency: str = Form("normal", max_length=16), authorities_notified: str = Form("", max_length=8),
    authorities_notified_at: str = Form("", max_length=40),
    who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = COMMITTED,
) -> Response:
    """Hand the case up to a tier, with a reason and urgency."""
    try:
        with session.begin_nested():
            asked = EscalationRequest(tier, reason, urgency, _notified(authorities_notified), _when(authorities_notified_at))
            escalations.escalate(session, who.actor, who.reviewer, case_id, asked)
    except NotFound:
        raise
    except FieldError as exc:
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status)
    return _onwards(session, who, case_id, "escalated", "escalated-handed-over")


def _onwards(session: Session, who: StaffContext, case_id: int, notice: str, gone: str) -> RedirectResponse:
    """Back to the case page, or to the queues if the case moved to a queue `who` may not see."""
    if not access.may_see(session.get_one(Queue, session.get_one(Case, case_id).queue_id), who.reviewer):
        return RedirectResponse(f"/queues?notice={gone}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}?notice={notice}", status_code=303)


@router.post("/cases/{case_id}/de-escalate")
def de_escalate(
    request: Request, case_id: RowId, note: str = Form("", max_length=4000),
    who: StaffContext = Depends(staff_with(*TIER_STAFF)), session: Session = COMMITTED,
) -> Response:
    """Send the case back to the routed queue it came from, with a note."""
    try:
        with session.begin_nested():
            escalations.de_escalate(session, who.actor, who.reviewer, case_id, note)
    except NotFound:
        raise
    except FieldError as exc:
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status)
    return _onwards(session, who, case_id, "de-escalated", "de-escalated")
