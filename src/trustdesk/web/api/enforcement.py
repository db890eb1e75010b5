"""Decisions, direct actions with cascade preview and undo, and bulk decisions, for automation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases import access, claiming
from trustdesk.domain.errors import FieldError
from trustdesk.domain.client_input import RowId
from trustdesk.domain.policies import Action
from trustdesk.domain.roles import ENFORCERS, REVIEWERS
from trustdesk.domain.vocabulary import AutomatedDecision, DecisionKind
from trustdesk.enforcement import actions, bulk, decisions, notifiers
from trustdesk.enforcement.decisions import DecisionRequest
from trustdesk.ingest.schemas import ExternalId
from trustdesk.store.models import Decision, EnforcementAction, NotifierRecord
from trustdesk.web.api.cases import CaseOut
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import (
    COMMITTED,
    StaffContext,
    claim_terms,
    read_session,
    staff_with,
)

router = api_router("decisions and actions")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy_code: str = Field(min_length=1, max_length=64)
    answers: list[int] | None = Field(default=None, description="Answer indexes through the policy's decision tree.")
    verdict: str | None = Field(default=None, description="violation | no_violation; checked against the tree if answers are given.")
    actions: list[str] | None = Field(default=None, description="Default: the tree outcome's actions.")
    rationale: str = Field(default="", max_length=10_000)
    time_spent_ms: int = Field(default=0, ge=0, le=decisions.MAX_TIME_SPENT_MS)
    params: dict[str, Any] = Field(default_factory=dict, description='e.g. {"days": 7} for suspend, {"label": "satire"}')
    cascade: bool = False

    def request(self) -> DecisionRequest:
        return DecisionRequest(**self.model_dump())


class DecisionOut(BaseModel):
    id: int
    kind: DecisionKind = Field(description="How it came about: a reviewed case, a senior's direct action, a bulk item, a rule, …")
    case_id: int | None
    subject_id: int
    policy_code: str
    policy_version: int
    verdict: str
    actions: list[str]
    rationale: str
    automated_detection: bool
    automated_decision: AutomatedDecision
    created_at: datetime
    action_ids: list[int] = Field(description="The actions applied on the subject itself (cascaded ones hang off these).")

    @classmethod
    def of(cls, session: Session, d: Decision) -> "DecisionOut":
        roots = session.execute(
            select(EnforcementAction.id).where(EnforcementAction.decision_id == d.id, EnforcementAction.cascade_of.is_(None))
            .order_by(EnforcementAction.id)
        ).scalars().all()
        data = {name: getattr(d, name) for name in cls.model_fields if name != "action_ids"}
        return cls(**data, action_ids=list(roots))


class DecideOut(BaseModel):
    decision: DecisionOut
    next_case: CaseOut | None = Field(description="With ?next=true: the case you were leased next.")


class ChangeOut(BaseModel):
    subject_id: int
    external_id: str
    kind: str
    before: str
    after: str


class PreviewOut(BaseModel):
    subject_id: int
    action: str
    count: int = Field(description="Subjects that will change, those hidden from the caller included")
    unchanged: int
    withheld: int = Field(description="Of `count`, subjects hidden from the caller (a queue's roles): changed, not listed")
    changes: list[ChangeOut]


class UndoOut(BaseModel):
    undone: list[int]
    skipped: list[int] = Field(description="Actions whose subject changed again since: left as they are.")


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_ids: list[RowId] = Field(default_factory=list, max_length=bulk.MAX_SUBJECTS, description="TrustDesk subject ids.")
    app: str | None = Field(default=None, max_length=64, description="The app whose external ids `external_ids` are.")
    external_ids: list[ExternalId] = Field(default_factory=list, max_length=bulk.MAX_SUBJECTS,
                                           description="Subjects as the host platform knows them (needs `app`).")
    decision: DecisionIn

    def subjects(self) -> list[bulk.SubjectRef]:
        """Items in the order given: the ids first, then the external ids."""
        if self.external_ids and not self.app:
            raise FieldError("app", "external ids need the app they belong to")
        return [*self.subject_ids, *(bulk.ExternalRef(self.app or "", e) for e in self.external_ids)]


class BulkOut(BaseModel):
    id: int
    kind: str = Field(description="decision | undo")
    status: str = Field(description="queued | running | done")
    total: int
    succeeded: int = Field(description="Items applied (for an undo: undone).")
    skipped: int
    failed: int
    pending: int
    undo_of: int | None = Field(description="For an undo: the operation it undoes.")
    undone_by: int | None = Field(description="The operation that undid this one, if any.")

    @classmethod
    def of(cls, status: bulk.BulkStatus) -> "BulkOut":
        return cls(**{name: getattr(status, name) for name in cls.model_fields})


class BulkItemOut(BaseModel):
    position: int = Field(description="Where the item was in the request, from 0.")
    reference: str | None = Field(description="The subject as given (`123`, or `app:external-id`); null if hidden from you.")
    subject_id: int | None
    status: str = Field(description="pending | applied | undone | skipped | failed")
    detail: str | None = Field(description="Why it was skipped or failed; what an undo restored.")
    decision_id: int | None


class BulkItemsOut(BaseModel):
    items: list[BulkItemOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last one.")


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000, description="Required to undo a cascade or a bulk operation.")


@router.post("/cases/{case_id}/decision", response_model=DecideOut, status_code=201)
def decide(
    case_id: RowId, body: DecisionIn, next: bool = False,
    who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED,
    terms: claiming.Terms = Depends(claim_terms),
) -> DecideOut:
    """Decide a case you hold; with ?next=true you are leased your next case in the same call."""
    decision = decisions.decide_case(session, who.reviewer, who.actor, case_id, body.request())
    following = claiming.next_case(session, who.reviewer, terms).case if next else None
    return DecideOut(decision=DecisionOut.of(session, decision), next_case=CaseOut.of(following) if following else None)


@router.get("/subjects/{subject_id}/cascade", response_model=PreviewOut)
def preview(
    subject_id: RowId, kind: str = Query(default=Action.CASCADE_TAKEDOWN.value),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> PreviewOut:
    """What an action with cascade would change: every subject, visibility before → after."""
    access.visible_subject(session, who.reviewer, subject_id)
    found = actions.preview_cascade(session, subject_id, kind, who.reviewer)
    return PreviewOut(
        subject_id=found.subject_id, action=found.action.value, count=found.count, unchanged=found.unchanged,
        withheld=found.withheld, changes=[ChangeOut(**vars(c)) for c in found.changes],
    )


@router.post("/subjects/{subject_id}/decision", response_model=DecisionOut, status_code=201)
def decide_subject(
    subject_id: RowId, body: DecisionIn,
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> DecisionOut:
    """A senior's decision on a subject outside the queue (e.g. a cascade takedown of a shop)."""
    decision = decisions.decide_subject(session, who.actor, subject_id, body.request(), reviewer=who.reviewer)
    return DecisionOut.of(session, decision)


@router.post("/actions/{action_id}/undo", response_model=UndoOut)
def undo(
    action_id: RowId, body: UndoIn | None = None,
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> UndoOut:
    """Withdraw an action and everything cascaded from it; a cascade needs a `reason`."""
    reason = body.reason if body else ""
    result = actions.undo_action(session, who.actor, action_id, reviewer=who.reviewer, reason=reason)
    return UndoOut(undone=[a.id for a in result.undone], skipped=[a.id for a in result.skipped])


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why: kept in the audit log of every subject restored.")


@router.post("/decisions/{decision_id}/reverse", response_model=UndoOut)
def reverse(
    decision_id: RowId, body: ReverseIn, who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> UndoOut:
    """Reverse a decision outside an appeal: withdraw every action it still has in force (with
    their cascades, delivered as `action.reversed`) and revoke its strikes. 409 if nothing is left."""
    result = decisions.reverse_decision(session, who.actor, who.reviewer, decision_id, body.reason)
    return UndoOut(undone=[a.id for a in result.undone], skipped=[a.id for a in result.skipped])


@router.post("/bulk", response_model=BulkOut, status_code=202)
def start_bulk(body: BulkIn, who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED) -> BulkOut:
    """Apply one decision to up to 10,000 subjects, by id or by an app's external ids; the worker
    does it. An id that matches nothing is a failed item, not a failed request. Follow with
    GET /bulk/{id} and its items."""
    op = bulk.start_bulk(session, who.user_id, who.actor, body.subjects(), body.decision.request())
    return BulkOut.of(bulk.bulk_status(session, op.id))


@router.get("/bulk/{operation_id}", response_model=BulkOut)
def bulk_status(operation_id: RowId, _who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session)) -> BulkOut:
    return BulkOut.of(bulk.bulk_status(session, operation_id))


@router.get("/bulk/{operation_id}/items", response_model=BulkItemsOut)
def bulk_items(
    operation_id: RowId, status: str | None = Query(default=None, description="Only items with this result."),
    after: int = Query(default=-1, ge=-1, le=bulk.MAX_SUBJECTS, description="The position to page on from."),
    limit: int = Query(default=500, ge=1, le=1000),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> BulkItemsOut:
    """The result of each item, in the order given."""
    bulk.bulk_status(session, operation_id)  # a 404 for an operation that does not exist
    found = bulk.bulk_items(session, operation_id, status=status, after=after, limit=limit + 1)
    views = bulk.item_views(session, who.reviewer, found[:limit])
    return BulkItemsOut(items=[BulkItemOut(**vars(v)) for v in views], next_after=views[-1].position if len(found) > limit else None)


@router.post("/bulk/{operation_id}/undo", response_model=BulkOut, status_code=202)
def undo_bulk(
    operation_id: RowId, body: UndoIn, who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> BulkOut:
    """Undo a finished bulk decision (once): the worker withdraws each applied item's actions and
    strikes; the answer is the undo operation, with items of its own."""
    op = bulk.start_undo(session, who.user_id, who.actor, operation_id, body.reason)
    return BulkOut.of(bulk.bulk_status(session, op.id))


class NotifierOut(BaseModel):
    key: str
    founded: int
    unfounded: int
    warned_at: datetime | None
    deprioritised_until: datetime | None
    suspended_until: datetime | None

    @classmethod
    def of(cls, row: NotifierRecord) -> "NotifierOut":
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


@router.get("/notifiers", response_model=list[NotifierOut])
def notifiers_under_measures(_who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session)) -> list[NotifierOut]:
    """Notifiers warned, deprioritised or suspended for manifestly unfounded notices (DSA Art. 23(2))."""
    rows = session.execute(
        select(NotifierRecord).where(
            NotifierRecord.warned_at.is_not(None) | NotifierRecord.deprioritised_until.is_not(None) | NotifierRecord.suspended_until.is_not(None)
        ).order_by(NotifierRecord.updated_at.desc()).limit(500)
    ).scalars()
    return [NotifierOut.of(r) for r in rows]


@router.post("/notifiers/{key}/reinstate", response_model=NotifierOut)
def reinstate_notifier(key: str, who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED) -> NotifierOut:
    """Lift a notifier's measures (audited); if the pattern returns, it starts again with a warning."""
    return NotifierOut.of(notifiers.reinstate(session, who.actor, key))


@router.get("/cases/{case_id}/decisions", response_model=list[DecisionOut])
def case_decisions(case_id: RowId, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> list[DecisionOut]:
    access.visible_case(session, who.reviewer, case_id)
    rows = session.execute(select(Decision).where(Decision.case_id == case_id).order_by(Decision.id)).scalars()
    return [DecisionOut.of(session, d) for d in rows]

