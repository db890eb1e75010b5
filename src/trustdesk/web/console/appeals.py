"""Console: staff file an appeal for a user (who wrote in by email or phoned support) from the
subject page. Deciding appeal cases is on the case page (`review`)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.roles import REVIEWERS
from trustdesk.domain.vocabulary import Appellant
from trustdesk.enforcement.appeals import AppealRequest, Filer, file_appeal
from trustdesk.store.models import Decision
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import subject_view
from trustdesk.web.permissions import COMMITTED, StaffContext, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)


@router.post("/decisions/{decision_id}/appeal")
def file_for_user(
    request: Request, decision_id: RowId, statement: str = Form(""),
    who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED,
) -> Response:
    """File the user's appeal of a decision in their words; back to the subject page."""
    window = timedelta(days=request.app.state.settings.appeal_window_days)
    appeal_request = AppealRequest(Appellant.USER, statement, decision_id=decision_id)
    try:
        with session.begin_nested():
            appeal, _ = file_appeal(session, Filer(who.actor, staff=who.reviewer), appeal_request, window=window)
    except NotFound:
        raise
    except FieldError as exc:  # shown on the subject page, which is need-to-know like the filing
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise NotFound("decision_id", f"no decision {decision_id}") from exc
        return subject_view(request, who, session, decision.subject_id, error=str(exc), status=exc.status, statement=statement)
    return RedirectResponse(f"/subjects/{session.get_one(Decision, appeal.decision_id).subject_id}?notice=appeal-filed", status_code=303)
