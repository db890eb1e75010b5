"""Legal holds through the API, for legal and child-safety staff with a personal token: place a
hold on an app's subjects by their external ids, read holds, extend and release them.

Thin, as the console's Legal holds pages are: `trustdesk.evidence.holds` checks the basis and
its date rules, snapshots the evidence, puts every step on the hold's chain of custody and
audits it.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.delivery.endpoints import app_named
from trustdesk.domain.client_input import RowId
from trustdesk.domain.legal_holds import (
    MAX_REASON,
    MAX_REFERENCE,
    MAX_SUBJECTS,
    HoldBasis,
    HoldSpec,
    HoldStatus,
)
from trustdesk.domain.roles import EVIDENCE_KEEPERS
from trustdesk.evidence import holds
from trustdesk.evidence.holds import HoldView
from trustdesk.ingest.schemas import ExternalId
from trustdesk.store.models import LegalHold
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = api_router("legal holds")
KEEPERS = staff_with(*EVIDENCE_KEEPERS)
Reason = Field(min_length=1, max_length=MAX_REASON, description="Why: it goes on the hold's chain of custody.")


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    app: str = Field(min_length=1, max_length=64, description="The app's slug: the subjects are its external ids.")
    subject_external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_SUBJECTS,
                                                   description="The subjects to hold; an account's items are held with it.")
    basis: HoldBasis = Field(description="The legal basis, which sets the clock: `ncmec_report` one year, "
                             "`law_enforcement_preservation` 90 days (extendable), `manual` until released.")
    reason: str = Reason
    reference: str = Field(default="", max_length=MAX_REFERENCE, description="The outside reference: the request's number, the matter.")
    review_on: date | None = Field(default=None, description="When the hold is reviewed: required for a manual hold, after today.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Reason


class HoldOut(BaseModel):
    id: int
    basis: HoldBasis
    status: HoldStatus
    reason: str
    reference: str
    placed_by: str
    placed_at: datetime
    review_on: date | None
    expires_at: datetime | None = Field(description="When its clock runs out; null for a manual hold.")
    released_at: datetime | None
    released_by: str | None

    @classmethod
    def of(cls, hold: LegalHold) -> HoldOut:
        status = HoldStatus.STANDING if hold.released_at is None else HoldStatus.RELEASED
        return cls(status=status, **{name: getattr(hold, name) for name in cls.model_fields if name != "status"})


class HeldSubjectOut(BaseModel):
    id: int
    external_id: str
    kind: str


class EvidenceItemOut(BaseModel):
    id: int
    position: int
    kind: str
    sha256: str
    size: int
    content_type: str


class HoldDetailOut(HoldOut):
    subjects: list[HeldSubjectOut] = Field(description="The subjects named when it was placed.")
    covered: int = Field(description="Subjects it covers: the named ones and the named accounts' items.")
    items: list[EvidenceItemOut] = Field(description="The evidence set, without its bytes: reading an item is on the "
                                         "chain of custody, from the console.")

    @classmethod
    def of_view(cls, held: HoldView) -> HoldDetailOut:
        return cls(**HoldOut.of(held.hold).model_dump(), covered=held.covered,
                   subjects=[HeldSubjectOut(id=s.id, external_id=s.external_id, kind=s.kind) for s in held.subjects],
                   items=[EvidenceItemOut(id=i.id, position=i.position, kind=i.kind, sha256=i.sha256, size=i.size,
                                          content_type=i.content_type) for i in held.items])


class HoldListOut(BaseModel):
    holds: list[HoldOut]


@router.post("/holds", response_model=HoldDetailOut, status_code=201)
def place_hold(body: HoldIn, who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED) -> HoldDetailOut:
    """Place a hold: everything about the subjects is snapshotted into its evidence set, and
    nothing it covers is deleted until it is released or its clock runs out. 404 names an
    unknown app or subject."""
    ids = holds.subjects_named(session, app_named(session, body.app).id, body.subject_external_ids)
    hold = holds.place_hold(session, who.actor, ids, HoldSpec(body.basis.value, body.reason, body.reference, body.review_on))
    return HoldDetailOut.of_view(holds.view(session, hold.id))


@router.get("/holds", response_model=HoldListOut)
def list_holds(status: HoldStatus | None = Query(default=None, description="Only standing or only released holds."),
               _who: StaffContext = Depends(KEEPERS), session: Session = Depends(read_session)) -> HoldListOut:
    """Standing holds by when they run out, then released ones, latest first."""
    return HoldListOut(holds=[HoldOut.of(h) for h in holds.list_holds(session, status)])


@router.get("/holds/{hold_id}", response_model=HoldDetailOut)
def read_hold(hold_id: RowId, _who: StaffContext = Depends(KEEPERS), session: Session = Depends(read_session)) -> HoldDetailOut:
    """A hold: its basis and clocks, the subjects it names and its evidence items with their hashes."""
    return HoldDetailOut.of_view(holds.view(session, hold_id))


@router.post("/holds/{hold_id}/extend", response_model=HoldOut)
def extend_hold(hold_id: RowId, body: ReasonIn, who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED) -> HoldOut:
    """A renewed preservation request: 90 more days from the current end. 422 for any other basis."""
    return HoldOut.of(holds.extend_hold(session, who.actor, hold_id, body.reason))


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(hold_id: RowId, body: ReasonIn, who: StaffContext = Depends(KEEPERS), session: Session = COMMITTED) -> HoldOut:
    """End a hold: what it covered may be deleted again, and its evidence set is purged when due."""
    return HoldOut.of(holds.release_hold(session, who.actor, hold_id, body.reason))
