"""Appeals (DSA Art. 20): the host platform files them for its users and notifiers and follows
them; reviewers decide appeal cases; QA reads outcomes per reviewer and policy."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.roles import QUALITY_READERS, REVIEWERS
from trustdesk.domain.vocabulary import AppealOutcome, Appellant, Scope
from trustdesk.enforcement import appeals
from trustdesk.enforcement.decisions import MAX_RATIONALE, MAX_TIME_SPENT_MS
from trustdesk.ingest.intake import Submitter
from trustdesk.ingest.schemas import ExternalId
from trustdesk.store.models import Appeal
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, client_with, read_session, staff_with

router = api_router("appeals")


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_id: ExternalId = Field(description="Your id for the appeal: a retry with the same body answers 200 with the original.")
    appellant: Appellant = Field(default=Appellant.USER, description="user: the person the decision was taken against; "
                                 "notifier: whose notice was found to break no rule.")
    statement: str = Field(min_length=1, max_length=appeals.MAX_STATEMENT, description="The appellant's own words.")
    decision_id: RowId | None = Field(default=None, description="A user's appeal: the decision, as sent in every webhook…")
    action_id: RowId | None = Field(default=None, description="…or one of its actions.")
    report_external_id: ExternalId | None = Field(default=None, description="A notifier's appeal: the notice's external id.")

    def request(self) -> appeals.AppealRequest:
        return appeals.AppealRequest(**self.model_dump())


class AppealOut(BaseModel):
    id: int
    external_id: str | None
    appellant: Appellant
    decision_id: int = Field(description="The decision appealed.")
    case_id: int | None = Field(description="The appeal case reviewers decide.")
    outcome: AppealOutcome | None = Field(description="null while open; upheld (the decision stands) or overturned (reversed).")
    decided_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, appeal: Appeal) -> "AppealOut":
        return cls(**{name: getattr(appeal, name) for name in cls.model_fields})


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: AppealOutcome
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE, description="Why: it goes to the appellant.")
    time_spent_ms: int = Field(default=0, ge=0, le=MAX_TIME_SPENT_MS)


class OutcomeCountOut(BaseModel):
    reviewer_id: int | None = Field(description="Who made the decisions appealed; null: automation.")
    reviewer: str | None
    policy_code: str
    upheld: int
    overturned: int


@router.post("/appeals", status_code=201, response_model=AppealOut,
             responses={200: {"model": AppealOut, "description": "An identical retry: the original appeal"}})
def file_appeal(
    body: AppealIn, request: Request, response: Response,
    who: Submitter = Depends(client_with(Scope.APPEALS_WRITE)), session: Session = COMMITTED,
) -> AppealOut:
    """File an appeal within the appeal window (`TRUSTDESK_APPEAL_WINDOW_DAYS`, default 183 days
    from the decision; later is a 422 naming the field that named the decision). A decision has
    one open appeal at a time (409)."""
    window = timedelta(days=request.app.state.settings.appeal_window_days)
    appeal, created = appeals.file_appeal(session, appeals.Filer(who.actor, app_id=who.app_id), body.request(), window=window)
    if not created:
        response.status_code = 200
    return AppealOut.of(appeal)


@router.get("/appeals/outcomes", response_model=list[OutcomeCountOut])
def outcomes(_who: StaffContext = Depends(staff_with(*QUALITY_READERS)), session: Session = Depends(read_session)) -> list[OutcomeCountOut]:
    """Decided appeals, upheld and overturned, by the reviewer of the decision appealed and its policy."""
    return [OutcomeCountOut(**vars(c)) for c in appeals.outcome_counts(session)]


@router.get("/appeals/{appeal_id}", response_model=AppealOut)
def read_appeal(
    appeal_id: RowId, who: Submitter = Depends(client_with(Scope.APPEALS_WRITE)), session: Session = Depends(read_session),
) -> AppealOut:
    """An appeal your app filed, with its outcome once decided."""
    return AppealOut.of(appeals.client_appeal(session, who.app_id, appeal_id))


@router.post("/cases/{case_id}/appeal-outcome", status_code=201, response_model=AppealOut)
def decide_appeal(
    case_id: RowId, body: OutcomeIn, who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED,
) -> AppealOut:
    """Decide an appeal case you hold (never one of your own decisions: 403): upheld, or
    overturned, which withdraws what the decision applied."""
    appeal = appeals.decide_appeal(session, who.reviewer, who.actor, case_id, body.outcome.value, body.rationale, body.time_spent_ms)
    return AppealOut.of(appeal)
