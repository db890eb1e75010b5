"""Who works which case: "next case" under a lease, renewal, release, senior assignment.

A claim is a lease, not a lock held open: the case row carries `claimed_by` and
`lease_until`, so a reviewer who closes the tab loses the case when the lease runs out and no
process keeps state. On PostgreSQL the candidate row is taken with `FOR UPDATE SKIP LOCKED`, so
concurrent reviewers never wait on each other nor get the same case; on SQLite the write
transaction (`BEGIN IMMEDIATE`) serialises claims.

Claims and renewals are workflow, not moderation state, so they are not audit events;
assignments by a senior are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, union_all
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases import wellness
from trustdesk.store.models import Case, Queue, StaffUser, as_utc, utcnow

LEASE_SECONDS = 300
# Candidates read per queue before locking one; more than the reviewers likely to claim at once.
_CANDIDATES = 64


class CaseNotHeld(Exception):
    """The reviewer does not hold this case (never claimed, lease ran out, or already decided)."""

    status = 409

    def __init__(self, case_id: int, message: str = "you do not hold this case; take it again from the queue") -> None:
        super().__init__(f"case_id: {message}")
        self.field = "case_id"
        self.case_id = case_id


@dataclass(frozen=True)
class Reviewer:
    id: int
    roles: tuple[str, ...]
    languages: tuple[str, ...] = ()

    @classmethod
    def of(cls, user: StaffUser) -> "Reviewer":
        return cls(user.id, tuple(user.roles), tuple((user.skills or {}).get("languages", [])))


@dataclass
class Claim:
    case: Case | None
    # Graphic queues left out because the reviewer reached the hourly exposure limit.
    paused_queues: list[str] = field(default_factory=list)


def may_work(queue: Queue, reviewer: Reviewer) -> bool:
    if queue.required_roles and not set(queue.required_roles) & set(reviewer.roles):
        return False
    return not queue.required_languages or bool(set(queue.required_languages) & set(reviewer.languages))


def workable_queues(session: Session, reviewer: Reviewer) -> tuple[list[Queue], list[str]]:
    """The queues this reviewer may take cases from now, and graphic ones paused for a break."""
    opted_out = wellness.stepped_out(session, reviewer.id)
    exposure = wellness.exposure_this_hour(session, reviewer.id)
    workable, paused = [], []
    for queue in session.execute(select(Queue).where(Queue.active.is_(True)).order_by(Queue.position)).scalars():
        if queue.id in opted_out or not may_work(queue, reviewer):
            continue
        if queue.graphic and queue.exposure_limit_per_hour is not None and exposure >= queue.exposure_limit_per_hour:
            paused.append(queue.name)
            continue
        workable.append(queue)
    return workable, paused


def _free(now: datetime):  # type: ignore[no-untyped-def]
    return or_(Case.lease_until.is_(None), Case.lease_until < now)


def _take(session: Session, reviewer: Reviewer, queue_ids: list[int], now: datetime, skip: list[int]) -> Case | None:
    order = (Case.priority_score.desc(), Case.due_at)
    assigned = session.execute(
        select(Case).where(Case.assigned_to == reviewer.id, Case.status == "open", _free(now), Case.id.not_in(skip))
        .order_by(*order).limit(1).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if assigned is not None or not queue_ids:
        return assigned
    limit = _CANDIDATES
    while True:
        per_queue = [
            select(Case.id, Case.priority_score, Case.due_at)
            .where(Case.queue_id == queue_id, Case.status == "open", _free(now), Case.assigned_to.is_(None))
            .order_by(*order).limit(limit).subquery()
            for queue_id in queue_ids
        ]
        merged = union_all(*[select(sub.c.id, sub.c.priority_score, sub.c.due_at) for sub in per_queue]).subquery()
        candidates = list(session.execute(
            select(merged.c.id).order_by(merged.c.priority_score.desc(), merged.c.due_at).limit(limit)
        ).scalars())
        if not candidates:
            return None
        case = session.execute(
            select(Case).where(Case.id.in_(candidates), Case.status == "open", _free(now), Case.assigned_to.is_(None), Case.id.not_in(skip))
            .order_by(*order).limit(1).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if case is not None or len(candidates) < limit:
            return case
        limit *= 4  # every candidate was taken by someone else meanwhile: look further down


def next_case(session: Session, reviewer: Reviewer, *, lease_seconds: int = LEASE_SECONDS) -> Claim:
    """Release what the reviewer holds and lease them the most urgent other case they may work."""
    now = utcnow()
    skipped = release_all(session, reviewer.id)
    queues, paused = workable_queues(session, reviewer)
    case = _take(session, reviewer, [q.id for q in queues], now, skipped)
    if case is not None:
        case.claimed_by, case.lease_until = reviewer.id, now + timedelta(seconds=lease_seconds)
        queue = next((q for q in queues if q.id == case.queue_id), None) or session.get(Queue, case.queue_id)
        if queue is not None and queue.graphic:
            wellness.count_exposure(session, reviewer.id)
    return Claim(case, paused)


def held(session: Session, reviewer_id: int, case_id: int, *, lock: bool = True) -> Case:
    """The case if this reviewer holds it under a live lease; CaseNotHeld otherwise."""
    stmt = select(Case).where(Case.id == case_id)
    case = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if case is None:
        raise CaseNotHeld(case_id, "no such case")
    if case.status != "open" or case.claimed_by != reviewer_id or case.lease_until is None or as_utc(case.lease_until) <= utcnow():
        raise CaseNotHeld(case_id)
    return case


def renew(session: Session, reviewer_id: int, case_id: int, *, lease_seconds: int = LEASE_SECONDS) -> Case:
    case = held(session, reviewer_id, case_id)
    case.lease_until = utcnow() + timedelta(seconds=lease_seconds)
    return case


def release_all(session: Session, reviewer_id: int) -> list[int]:
    """Give back every case the reviewer holds; returns their ids."""
    released = []
    for case in session.execute(select(Case).where(Case.claimed_by == reviewer_id, Case.status == "open").with_for_update()).scalars():
        case.claimed_by, case.lease_until = None, None
        released.append(case.id)
    return released


def assign(session: Session, actor: Actor, case_id: int, staff_id: int | None) -> Case:
    """A senior hands a case to a named reviewer (or back to the queue with None)."""
    case = session.execute(select(Case).where(Case.id == case_id).with_for_update()).scalar_one_or_none()
    if case is None or case.status != "open":
        raise CaseNotHeld(case_id, "no open case with this id")
    if staff_id is not None and session.get(StaffUser, staff_id) is None:
        raise CaseNotHeld(case_id, f"no staff user {staff_id}")
    before = {"assigned_to": case.assigned_to}
    case.assigned_to = staff_id
    if case.claimed_by is not None and case.claimed_by != staff_id:
        case.claimed_by, case.lease_until = None, None
    record(session, actor=actor, verb="case.assigned", object_type="case", object_id=case.id, before=before, after={"assigned_to": staff_id})
    return case
