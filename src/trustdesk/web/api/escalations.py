"""Escalations: staff hand a case up to a tier and back; the host platform's CX or support
staff file escalations for a requester, who reads the status, the notes meant for them and
the outcome. The rules are `trustdesk.cases.escalations`'."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.cases import escalations
from trustdesk.cases.access import visible_case
from trustdesk.cases.escalations import EscalationRequest, Filing, RequesterView
from trustdesk.domain.client_input import Moment, RowId
from trustdesk.domain.roles import CASE_STAFF, TIER_STAFF
from trustdesk.domain.vocabulary import CaseTier, Scope, Urgency
from trustdesk.ingest.intake import Submitter
from trustdesk.store.database import Database
from trustdesk.store.models import Escalation
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, client_with, get_db, read_session, staff_with

router = api_router("escalations")


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tier: CaseTier
    reason: str = Field(min_length=1, max_length=escalations.MAX_REASON)
    urgency: Urgency = Urgency.NORMAL
    authorities_notified: bool | None = Field(
        default=None, description="Imminent harm only, and then required: were the authorities notified (DSA Art. 18)?")
    authorities_notified_at: Moment | None = Field(default=None, description="When they were notified (required if they were).")

    def request(self) -> EscalationRequest:
        return EscalationRequest(self.tier.value, self.reason, self.urgency.value, self.authorities_notified, self.authorities_notified_at)


class EscalationOut(BaseModel):
    id: int
    case_id: int
    tier: str
    reason: str
    urgency: str
    status: str
    escalated_by: str
    escalated_at: datetime
    from_queue_id: int = Field(description="The routed queue the case goes back to when de-escalated.")
    authorities_notified: bool | None
    authorities_notified_at: datetime | None
    de_escalated_at: datetime | None
    de_escalation_note: str | None
    requester_ref: str | None
    outcome: str | None

    @classmethod
    def of(cls, e: Escalation) -> "EscalationOut":
        return cls(**{name: getattr(e, name) for name in cls.model_fields})


class DeEscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=escalations.MAX_NOTE, description="Why it goes back; kept with the escalation.")


class FilingIn(EscalateIn):
    """An escalation from the host platform's CX or support staff, for a requester."""

    external_id: str = Field(min_length=1, max_length=200, description="Your id for this filing: a retry with it is answered, not filed again.")
    subject_external_id: str = Field(min_length=1, max_length=200)
    policy_code: str = Field(min_length=1, max_length=64, description="The policy the requester thinks is broken.")
    requester_ref: str = Field(min_length=1, max_length=200, description="Your reference for the requester (a ticket id), never personal data.")
    tier: CaseTier = CaseTier.ESCALATIONS


class NoteOut(BaseModel):
    body: str
    created_at: datetime


class RequesterEscalationOut(BaseModel):
    """The escalation as its requester may see it: no internal comments, no case content."""

    id: int
    external_id: str
    requester_ref: str | None
    tier: str
    urgency: str
    status: str = Field(description="open (at its tier), moved (on to another tier), de_escalated (back to review)")
    filed_at: datetime
    case_status: str = Field(description="open while it is being looked at, decided once it is")
    outcome: str | None = Field(description="The verdict once the case is decided: violation or no_violation")
    outcome_at: datetime | None
    notes: list[NoteOut] = Field(description="Status updates staff wrote for the requester, oldest first")

    @classmethod
    def of(cls, v: RequesterView) -> "RequesterEscalationOut":
        data = {name: getattr(v, name) for name in cls.model_fields if name != "notes"}
        return cls(**data, notes=[NoteOut(body=body, created_at=at) for body, at in v.notes])


@router.post("/cases/{case_id}/escalations", response_model=EscalationOut, status_code=201)
def escalate(case_id: RowId, body: EscalateIn, who: StaffContext = Depends(staff_with(*CASE_STAFF)),
             session: Session = COMMITTED) -> EscalationOut:
    """Hand the case up to a tier: it moves to the tier's queue, for the tier's roles only,
    with its priority raised by the urgency and the tier queue's SLA from now."""
    return EscalationOut.of(escalations.escalate(session, who.actor, who.reviewer, case_id, body.request()))


@router.get("/cases/{case_id}/escalations", response_model=list[EscalationOut])
def case_escalations(case_id: RowId, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> list[EscalationOut]:
    """The case's escalations, newest first."""
    visible_case(session, who.reviewer, case_id)
    return [EscalationOut.of(e) for e in escalations.escalations_of(session, case_id)]


@router.post("/cases/{case_id}/de-escalate", response_model=EscalationOut)
def de_escalate(case_id: RowId, body: DeEscalateIn, who: StaffContext = Depends(staff_with(*TIER_STAFF)),
                session: Session = COMMITTED) -> EscalationOut:
    """Send the case back from its tier to the routed queue it came from, with a note."""
    return EscalationOut.of(escalations.de_escalate(session, who.actor, who.reviewer, case_id, body.note))


@router.post("/escalations", response_model=RequesterEscalationOut, status_code=201,
             responses={200: {"model": RequesterEscalationOut, "description": "An identical retry: the escalation as filed"}})
def file_escalation(body: FilingIn, response: Response, who: Submitter = Depends(client_with(Scope.ESCALATIONS_WRITE)),
                    db: Database = Depends(get_db)) -> RequesterEscalationOut:
    """File an escalation for a requester (from CX or support): the subject's open case goes to
    the tier, or a case of kind `escalation` opens there when the subject has none. Read the
    outcome and the status updates with `GET /api/v1/escalations/{id}`."""
    filing = Filing(body.external_id, body.subject_external_id, body.policy_code, body.requester_ref, body.request())
    view, created = escalations.file_for_client(db, who, filing)
    if not created:
        response.status_code = 200
    return RequesterEscalationOut.of(view)


@router.get("/escalations/{escalation_id}", response_model=RequesterEscalationOut)
def read_escalation(escalation_id: RowId, who: Submitter = Depends(client_with(Scope.ESCALATIONS_WRITE)),
                    session: Session = Depends(read_session)) -> RequesterEscalationOut:
    """An escalation this client filed: its status, the notes for the requester, the outcome."""
    return RequesterEscalationOut.of(escalations.requester_view(session, who, escalation_id))
