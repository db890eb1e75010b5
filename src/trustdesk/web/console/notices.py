"""Console page of one notice: what was sent (or withheld, or failed, and why), to whom, how."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.notices.notice import recipient_reference, visible_notice
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)


@router.get("/notices/{notice_id}")
def notice_page(
    request: Request, notice_id: RowId, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The rendered text as it was written; need-to-know as for its case and subject."""
    notice = visible_notice(session, who.reviewer, notice_id)
    return render(request, "notice.html", {"who": who, "notice": notice, "recipient": recipient_reference(session, notice)})
