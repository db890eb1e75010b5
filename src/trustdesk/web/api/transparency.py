"""The DSA transparency report (Art. 15/24) for a period, as JSON, for analysts, legal and admins;
and the host platform's monthly active recipients (Art. 24(2)) that the report averages."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.active_recipients import (
    MEMBER_STATES,
    MonthlyFigure,
    month_label,
    month_of,
)
from trustdesk.domain.client_input import Count
from trustdesk.domain.roles import TRANSPARENCY_READERS
from trustdesk.domain.vocabulary import Scope
from trustdesk.dsa import active_recipients
from trustdesk.dsa.period import parse_period
from trustdesk.dsa.transparency import TransparencyReport, transparency_report
from trustdesk.ingest.intake import Submitter
from trustdesk.store.models import ActiveRecipients, utcnow
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import (
    COMMITTED,
    StaffContext,
    client_with,
    read_session,
    staff_with,
)

router = api_router("transparency")


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


class ActiveRecipientsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: Count = Field(description="Active recipients of the service in the Union during the month.")
    by_member_state: dict[str, Count] = Field(default_factory=dict, max_length=len(MEMBER_STATES) + 1,
                                              description="Optional: the count per EU member state, by ISO 3166-1 code (DE, FR, GR …).")


class ActiveRecipientsOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    count: int
    by_member_state: dict[str, int]
    reported_by: str
    reported_at: datetime

    @classmethod
    def of(cls, row: ActiveRecipients) -> ActiveRecipientsOut:
        return cls(month=month_label(row.month), count=row.count, by_member_state=row.by_member_state, reported_by=row.reported_by,
                   reported_at=row.reported_at)


@router.put("/active-recipients/{month}", response_model=ActiveRecipientsOut, status_code=201,
            responses={200: {"model": ActiveRecipientsOut, "description": "The month's earlier figure, replaced"}})
def report_active_recipients(
    body: ActiveRecipientsIn, response: Response, month: str = Path(description="The calendar month, YYYY-MM", max_length=7),
    who: Submitter = Depends(client_with(Scope.TRANSPARENCY_WRITE)), session: Session = COMMITTED,
) -> ActiveRecipientsOut:
    """Report your app's active recipients for a month (DSA Art. 24(2)); sending the month again
    replaces its figure. The transparency report averages the months of its period that have
    one. Needs the `transparency:write` scope, which older tokens lack."""
    first_day = month_of(month, utcnow().date())
    row, created = active_recipients.report_month(session, who.actor, who.app_id, first_day, MonthlyFigure(body.count, body.by_member_state))
    if not created:
        response.status_code = 200
    return ActiveRecipientsOut.of(row)
