"""Queues and cases for automation: configure queues, claim, renew, assign, read, comment.

Need-to-know applies as in the console (`trustdesk.cases.access`): a case in a queue whose
roles the caller lacks answers 404 like a missing one; such a queue's case list answers 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.cases import case_file, claiming, listing, routing, sla, wellness
from trustdesk.cases.listing import Age, QueueFilter, QueueSort
from trustdesk.cases.queues import (
    MAX_EXPOSURE_PER_HOUR,
    MAX_POSITION,
    MAX_SLA_MINUTES,
    QueueSpec,
    save_queue,
)
from trustdesk.domain.client_input import RowId
from trustdesk.domain.priority import Band
from trustdesk.domain.roles import ADMINS, ASSIGNERS, CASE_STAFF, CASE_TAKERS, REVIEWERS
from trustdesk.domain.vocabulary import CommentVisibility, ReporterType
from trustdesk.store.models import MAX_BIGINT, Case, Queue
from trustdesk.web.api.escalations import EscalationOut
from trustdesk.web.api.responses import api_router
from trustdesk.web.api.subjects import MediaItemOut
from trustdesk.web.permissions import (
    COMMITTED,
    StaffContext,
    claim_terms,
    read_session,
    staff_with,
)

router = api_router("queues and cases")


class QueueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    routing_expression: str | None = Field(default=None, max_length=4000, description="CEL; see ROUTING_SCHEMA")
    position: int = Field(default=100, ge=0, le=MAX_POSITION)
    is_default: bool = False
    sla_minutes: dict[str, Annotated[int, Field(ge=1, le=MAX_SLA_MINUTES)]] = Field(default_factory=lambda: QueueSpec("x").sla_minutes)
    required_roles: list[str] = Field(default_factory=list)
    required_languages: list[str] = Field(default_factory=list)
    graphic: bool = False
    exposure_limit_per_hour: int | None = Field(default=None, ge=1, le=MAX_EXPOSURE_PER_HOUR)
    escalate_minutes_before_breach: int | None = Field(default=None, ge=1, le=MAX_SLA_MINUTES)
    escalation_queue: str | None = None
    active: bool = True


class QueueOut(BaseModel):
    id: int
    name: str
    routing_expression: str | None
    position: int
    is_default: bool
    sla_minutes: dict[str, int]
    required_roles: list[str]
    required_languages: list[str]
    graphic: bool
    exposure_limit_per_hour: int | None
    active: bool
    open: int = 0
    breached: int = 0

    @classmethod
    def of(cls, q: Queue, counts: dict[str, Any] | None = None) -> "QueueOut":
        data = {name: getattr(q, name) for name in cls.model_fields if name not in ("open", "breached")}
        return cls(**data, open=(counts or {}).get("open", 0), breached=(counts or {}).get("breached", 0))


class CaseOut(BaseModel):
    id: int
    subject_id: int
    queue_id: int
    kind: str
    tier: str | None = Field(description="The escalation tier whose queue holds the case; null in its routed queue.")
    status: str
    band: str
    priority_score: float
    priority_reasons: dict[str, float]
    imminent_harm: bool
    report_count: int
    policy_code: str
    routed_by: str
    due_at: datetime
    minutes_left: float | None = Field(description="Until the SLA is due (negative: breached); null once the case is closed.")
    breached: bool = Field(description="Past its SLA: now, while open; when it was decided, once closed.")
    claimed_by: int | None
    lease_until: datetime | None
    assigned_to: int | None

    @classmethod
    def of(cls, c: Case) -> "CaseOut":
        data = {name: getattr(c, name) for name in cls.model_fields if name not in ("minutes_left", "breached")}
        if c.status != "open":
            return cls(**data, minutes_left=None, breached=sla.closed_late(c))
        left = sla.minutes_left(c)
        return cls(**data, minutes_left=round(left, 1), breached=left < 0)


class CaseFileOut(BaseModel):
    """The case with everything around it, as on the case page.

    `linked_accounts[].shared` counts the identifiers shared per kind (ip, device_id, …); the
    values are personal data, shown only through the audited reveal on the account.
    """

    case: CaseOut
    queue: str
    subject: dict[str, Any]
    parent: dict[str, Any] | None
    children: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    earlier_decisions: list[dict[str, Any]]
    active_strikes: list[dict[str, Any]]
    linked_accounts: list[dict[str, Any]]
    comments: list[dict[str, Any]] = Field(description="`visibility`: internal, or requester (a note the escalation's requester reads)")
    escalations: list[EscalationOut]
    signals: list[dict[str, Any]] = Field(description="What analysers found on the subject, newest first: analyser, label, "
                                          "score (0–1) or match, evidence, model_version, created_at")
    labels: list[str] = Field(description="Labels live rules put on the case")
    rule_hits: list[dict[str, Any]] = Field(description="Rules whose condition held on the subject, newest first: rule, version, "
                                            "mode (live or shadow), trigger (report, signals, evaluate), evaluation_id, created_at")
    rule_errors: list[dict[str, Any]] = Field(description="The subject's evaluations on which an expression or an action failed, "
                                              "newest first: evaluation_id, trigger, created_at, errors [{source, name, error}]")


def _subject(s: Any) -> dict[str, Any]:
    return {"id": s.id, "external_id": s.external_id, "kind": s.kind, "title": s.title, "text": s.text,
            "language": s.language, "visibility": s.visibility, "reach": s.reach}


def _with_media(s: Any) -> dict[str, Any]:
    return _subject(s) | {"media": [MediaItemOut.of(m).model_dump() for m in s.media_items]}


class ClaimOut(BaseModel):
    case: CaseOut | None
    paused_queues: list[str] = Field(description="Graphic queues left out: the hourly exposure limit is reached; take a break.")


class AssignIn(BaseModel):
    staff_id: RowId | None


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)
    visibility: CommentVisibility = Field(
        default=CommentVisibility.INTERNAL, description="`requester`: a status update the requester of an API-filed escalation reads")


class ImminentHarmIn(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


@router.get("/queues", response_model=list[QueueOut])
def queues(_who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> list[QueueOut]:
    return [QueueOut.of(row["queue"], row) for row in listing.queue_overview(session)]


@router.post("/queues", response_model=QueueOut, status_code=201)
def create_queue(body: QueueIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> QueueOut:
    """Create a queue; its routing expression is checked now, not when reports arrive."""
    return QueueOut.of(save_queue(session, who.actor, QueueSpec(**body.model_dump())))


@router.put("/queues/{queue_id}", response_model=QueueOut)
def update_queue(queue_id: RowId, body: QueueIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> QueueOut:
    return QueueOut.of(save_queue(session, who.actor, QueueSpec(**body.model_dump()), queue_id))


@router.get("/queues/{queue_id}/cases", response_model=list[CaseOut])
def queue_cases(
    request: Request, response: Response, queue_id: RowId,
    policy_code: str | None = Query(None, max_length=64), language: str | None = Query(None, max_length=16),
    band: Band | None = None, age: Age | None = None, breached: bool | None = None, reporter_type: ReporterType | None = None,
    sort: QueueSort = QueueSort.PRIORITY, after: str | None = Query(None, max_length=1000), before: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=500),
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> list[CaseOut]:
    """Open cases, filtered, in the chosen order (`priority`: the order reviewers get them), a page at a time.

    Pages are read by keyset: the `Link` header carries the URLs of the next and previous pages
    (`rel="next"`, `rel="prev"`), each with an `after` or `before` cursor.
    """
    filters = QueueFilter(policy_code, language, band, age, breached, reporter_type)
    page = listing.queue_cases(session, who.reviewer, queue_id, filters=filters, sort=sort, after=after, before=before, limit=limit)
    links = [f'<{request.url.remove_query_params(["after", "before"]).include_query_params(**{side: cursor})}>; rel="{rel}"'
             for side, cursor, rel in (("after", page.next, "next"), ("before", page.previous, "prev")) if cursor]
    if links:
        response.headers["Link"] = ", ".join(links)
    return [CaseOut.of(e.case) for e in page.entries]


@router.post("/queues/{queue_id}/step-out", status_code=204)
def step_out(queue_id: RowId, who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED) -> None:
    """Leave a graphic queue for now, without penalty."""
    wellness.step_out(session, who.reviewer, queue_id)


@router.post("/queues/{queue_id}/step-in", status_code=204)
def step_in(queue_id: RowId, who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED) -> None:
    wellness.step_back_in(session, who.user_id, queue_id)


@router.post("/cases/next", response_model=ClaimOut)
def next_case(
    queue_id: int | None = Query(None, ge=1, le=MAX_BIGINT, description="Take from this queue only."),
    who: StaffContext = Depends(staff_with(*CASE_TAKERS)), session: Session = COMMITTED, terms: claiming.Terms = Depends(claim_terms),
) -> ClaimOut:
    """Lease the most urgent case you may work (from one queue, if given).

    The case you held is given back as skipped: others may take it at once, you get it again
    only after `TRUSTDESK_SKIP_MINUTES`.
    """
    claim = claiming.next_case(session, who.reviewer, terms, queue_id=queue_id)
    return ClaimOut(case=CaseOut.of(claim.case) if claim.case else None, paused_queues=claim.paused_queues)


@router.get("/cases/{case_id}", response_model=CaseFileOut)
def read_case(case_id: RowId, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> CaseFileOut:
    found = case_file.load_case_file(session, who.reviewer, case_id)
    return CaseFileOut(
        case=CaseOut.of(found.case), queue=found.queue.name, subject=_with_media(found.tree.subject),
        parent=_with_media(found.tree.parent) if found.tree.parent else None,
        children=[_with_media(c) for c in found.tree.children],
        reports=[{"id": r.id, "policy_code": r.policy_code, "reporter_type": r.reporter_type, "text": r.text,
                  "imminent_harm": r.imminent_harm, "status": r.status, "received_at": r.received_at} for r in found.reports],
        earlier_decisions=[{"id": d.id, "subject_id": d.subject_id, "policy_code": d.policy_code, "verdict": d.verdict,
                            "actions": d.actions, "created_at": d.created_at} for d in found.earlier_decisions],
        active_strikes=[{"id": st.id, "policy_code": st.policy_code, "weight": st.weight, "expires_at": st.expires_at}
                        for st in found.active_strikes],
        linked_accounts=[{"account": _subject(link.account), "shared": link.shared} for link in found.linked_accounts],
        comments=[{"id": c.id, "author": author, "body": c.body, "visibility": c.visibility, "created_at": c.created_at}
                  for c, author in found.comments],
        escalations=[EscalationOut.of(e) for e in found.escalations],
        signals=[{"id": s.id, "analyser": s.analyser, "label": s.label, "score": s.score, "match": s.match, "evidence": s.evidence,
                  "model_version": s.model_version, "created_at": s.created_at} for s in found.signals],
        labels=found.case.labels,
        rule_hits=[{"rule": name, "version": version, "mode": hit.mode, "trigger": evaluation.trigger, "evaluation_id": evaluation.id,
                    "created_at": hit.created_at} for hit, name, version, evaluation in found.rule_hits],
        rule_errors=[{"evaluation_id": e.id, "trigger": e.trigger, "created_at": e.created_at, "errors": e.errors}
                     for e in found.rule_errors],
    )


@router.post("/cases/{case_id}/renew", response_model=CaseOut)
def renew(
    case_id: RowId, who: StaffContext = Depends(staff_with(*CASE_TAKERS)), session: Session = COMMITTED,
    terms: claiming.Terms = Depends(claim_terms),
) -> CaseOut:
    """Keep holding the case while you work on it; refused (409) past `TRUSTDESK_MAX_HOLD_MINUTES` from the claim."""
    return CaseOut.of(claiming.renew(session, who.reviewer, case_id, terms))


@router.post("/cases/{case_id}/release", status_code=204)
def release(case_id: RowId, who: StaffContext = Depends(staff_with(*CASE_TAKERS)), session: Session = COMMITTED) -> None:
    claiming.release(session, who.reviewer, case_id)


@router.post("/cases/{case_id}/assign", response_model=CaseOut)
def assign(case_id: RowId, body: AssignIn, who: StaffContext = Depends(staff_with(*ASSIGNERS)), session: Session = COMMITTED) -> CaseOut:
    """Hand a case to a named reviewer who may work its queue (null: back to the queue)."""
    return CaseOut.of(claiming.assign(session, who.actor, who.reviewer, case_id, body.staff_id))


@router.post("/cases/{case_id}/imminent-harm", response_model=CaseOut)
def imminent_harm(case_id: RowId, body: ImminentHarmIn, who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED) -> CaseOut:
    """Flag a threat to life, self-harm or a child at risk: top priority, shortest SLA."""
    return CaseOut.of(routing.flag_imminent_harm(session, who.actor, who.reviewer, case_id, body.reason))


@router.post("/cases/{case_id}/comments", status_code=201)
def comment(case_id: RowId, body: CommentIn, who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = COMMITTED) -> dict[str, int]:
    return {"id": case_file.add_comment(session, who.actor, who.reviewer, case_id, body.body, body.visibility.value).id}
