"""The DSA transparency report (Art. 15/24) for a period, as JSON, for analysts, legal and admins."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from trustdesk.domain.roles import TRANSPARENCY_READERS
from trustdesk.dsa.period import parse_period
from trustdesk.dsa.transparency import TransparencyReport, transparency_report
from trustdesk.store.models import utcnow
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.permissions import StaffContext, read_session, staff_with

router = APIRouter(prefix="/api/v1", tags=["transparency"], route_class=ClientInputRoute)


@router.get("/transparency-report", response_model=TransparencyReport)
def read_transparency_report(
    since: str = Query(description="First day, YYYY-MM-DD (UTC)", max_length=10),
    until: str | None = Query(None, description="Last day, YYYY-MM-DD (UTC); default today", max_length=10),
    _who: StaffContext = Depends(staff_with(*TRANSPARENCY_READERS)), session: Session = Depends(read_session),
) -> TransparencyReport:
    """Notices by category and source, trusted flaggers' notices, the median time from notice to
    decision, own-initiative actions, the automated share, appeals and their outcomes, and
    Art. 23 suspensions, for the days `since` to `until` (both included)."""
    return transparency_report(session, parse_period(since, until, utcnow().date()))
