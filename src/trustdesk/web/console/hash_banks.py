"""Console pages for hash banks: the admins' list of banks, and "add to bank" on a decided case.

Thin: adding and listing are `trustdesk.hash_banks.banks`'. Adding takes the MD5, SHA-256 and
PDQ of the case subject's stored media; a case the member may not see is not found.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.roles import ADMINS, ENFORCERS
from trustdesk.hash_banks.banks import add_case_media, list_banks
from trustdesk.store.models import MAX_BIGINT
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.review import case_view
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)


@router.get("/hash-banks")
def bank_list(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> HTMLResponse:
    """Every bank with its live hashes per algorithm, its PDQ threshold and what a match calls for."""
    return render(request, "hash_banks.html", {"who": who, "banks": list_banks(session)})


@router.post("/cases/{case_id}/add-to-bank")
def add_to_bank(
    request: Request, case_id: RowId, bank_id: int = Form(..., ge=1, le=MAX_BIGINT),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> Response:
    """Put the hashes of a decided case's media into a bank; back to the case, which says so."""
    try:
        with session.begin_nested():
            add_case_media(session, who.actor, who.reviewer, case_id, bank_id, request.app.state.blobs)
    except NotFound as exc:
        if exc.field == "case_id":
            raise
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status)
    except FieldError as exc:  # not decided (409), or no stored media (422)
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status)
    return RedirectResponse(f"/cases/{case_id}?notice=added-to-bank", status_code=303)
