"""Law-enforcement and regulatory requests filed by the host platform, whose legal team
received them: each opens a case for TrustDesk's legal staff on the instrument's legal clock,
and the host platform follows it (status, deadline, review) with the same `legal:write` scope.
Requests TrustDesk's legal staff recorded themselves stay in the console."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import AwareMoment, RowId
from trustdesk.domain.errors import NotFound
from trustdesk.domain.law_enforcement import (
    MAX_SUBJECTS,
    MAX_TEXT,
    Intake,
    RequestStatus,
    ReviewOutcome,
)
from trustdesk.domain.legal_deadlines import Instrument
from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest.intake import Submitter
from trustdesk.ingest.schemas import ExternalId
from trustdesk.law_enforcement import requests
from trustdesk.store.database import Database
from trustdesk.store.models import LawEnforcementRequest
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import client_with, get_db, read_session

router = api_router("law-enforcement requests")
Text = Field(min_length=1, max_length=MAX_TEXT)
MAX_PAGE = 500


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_id: ExternalId = Field(description="Your id for the request: a retry with the same body answers 200 with the original.")
    agency: str = Text
    officer_name: str = Text
    officer_email: str = Field(min_length=3, max_length=MAX_TEXT)
    officer_phone: str = Field(default="", max_length=MAX_TEXT)
    instrument: Instrument
    reference: str = Field(min_length=1, max_length=MAX_TEXT, description="The agency's case or instrument number.")
    subject_external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_SUBJECTS)
    received_at: AwareMoment
    due_at: AwareMoment | None = Field(default=None, description="When the instrument says it must be answered (subpoenas, "
                                         "court orders, search warrants); the others run on the law's clock.")
    emergency: bool = Field(default=False, description="A threat to life: worked at top priority (emergency disclosures always are).")
    non_disclosure: bool = Field(default=False, description="A non-disclosure order: no notice or access export mentions the request.")
    non_disclosure_until: date | None = Field(default=None, description="The order's end; none: until lifted.")

    def intake(self) -> Intake:
        return Intake(self.agency, self.officer_name, self.officer_email, self.officer_phone, self.instrument.value, self.reference,
                      tuple(self.subject_external_ids), self.received_at, self.due_at, self.emergency, self.non_disclosure,
                      self.non_disclosure_until)


class KnownCopyOut(BaseModel):
    subject_id: int
    external_id: str
    how: list[str]


class NamedSubjectOut(BaseModel):
    id: int
    external_id: str


class RequestOut(BaseModel):
    id: int
    external_id: str | None
    case_id: int
    agency: str
    reference: str
    instrument: Instrument
    status: RequestStatus
    emergency: bool
    received_at: datetime
    due_at: datetime = Field(description="The legal deadline the case is worked to (the case's `legal_due_at`).")
    subjects: list[NamedSubjectOut] = Field(description="The subjects the request names.")
    non_disclosure: bool = Field(description="Whether a non-disclosure order came with it.")
    non_disclosure_until: date | None = Field(description="The order's end; none: until lifted.")
    review_outcome: ReviewOutcome | None = Field(description="Legal review's answer: approve, narrow or reject; null before it.")
    review_reasons: str | None
    reviewed_at: datetime | None
    disclosed_subject_ids: list[int] = Field(description="The subjects review let go out: all named ones, or the narrowed few.")
    disclosed_at: datetime | None
    closed_at: datetime | None
    preservation_hold_id: int | None = Field(description="A preservation letter's evidence hold, placed on receipt.")
    known_copies: list[KnownCopyOut] = Field(description="TAKE IT DOWN: other subjects whose media match the named media.")

    @classmethod
    def of(cls, request: LawEnforcementRequest, subjects: list[tuple[int, str]]) -> RequestOut:
        named = [NamedSubjectOut(id=subject_id, external_id=external_id) for subject_id, external_id in subjects]
        return cls(subjects=named, **{name: getattr(request, name) for name in cls.model_fields if name != "subjects"})


class RequestListOut(BaseModel):
    requests: list[RequestOut]
    next_before: int | None = Field(description="More, older requests: send this as `before` for the next page.")


def _out(session: Session, found: list[LawEnforcementRequest]) -> list[RequestOut]:
    named = requests.subjects_named_by(session, found)
    return [RequestOut.of(r, named[r.id]) for r in found]


@router.post("/law-enforcement-requests", status_code=201, response_model=RequestOut,
             responses={200: {"model": RequestOut, "description": "An identical retry: the original request"}})
def file_request(body: RequestIn, response: Response, who: Submitter = Depends(client_with(Scope.LEGAL_WRITE)),
                 db: Database = Depends(get_db)) -> RequestOut:
    """Hand TrustDesk's legal staff a request your legal team received. A preservation letter
    places a 90-day evidence hold on the subjects at once; a TAKE IT DOWN request lists known
    copies of the named media. Needs the `legal:write` scope, which no older token has."""
    request_id, created = requests.file_for_client(db, who.actor, who.app_id, body.intake(), body.external_id)
    if not created:
        response.status_code = 200
    session: Session
    with db.reader() as session:
        return _out(session, [requests.request_of(session, request_id)])[0]


@router.get("/law-enforcement-requests", response_model=RequestListOut)
def list_requests(
    status: RequestStatus | None = Query(default=None, description="Only requests with this status."),
    before: RowId | None = Query(default=None, description="Only requests older than this id: `next_before` of the last page."),
    limit: int = Query(default=100, ge=1, le=MAX_PAGE),
    who: Submitter = Depends(client_with(Scope.LEGAL_WRITE)), session: Session = Depends(read_session),
) -> RequestListOut:
    """The requests your app filed, newest first: where each stands, its deadline and review."""
    found = requests.filed_by_app(session, who.app_id, status=status, before=before, limit=limit)
    return RequestListOut(requests=_out(session, found), next_before=found[-1].id if len(found) == limit else None)


@router.get("/law-enforcement-requests/{request_id}", response_model=RequestOut)
def read_request(request_id: RowId, who: Submitter = Depends(client_with(Scope.LEGAL_WRITE)),
                 session: Session = Depends(read_session)) -> RequestOut:
    """A request your app filed: its status, deadline, legal review and any non-disclosure order."""
    request = requests.request_of(session, request_id)
    if request.app_id != who.app_id or request.external_id is None:
        raise NotFound("request_id", f"no law-enforcement request {request_id}")
    return _out(session, [request])[0]
