"""Who works which case: "next case" under a lease, renewal, release, senior assignment.

A claim is a lease, not a lock held open: the case row carries `claimed_by` and
`lease_until`, so a reviewer who closes the tab loses the case when the lease runs out and no
process keeps state. On PostgreSQL the candidate row is taken with `FOR UPDATE SKIP LOCKED`, so
concurrent reviewers never wait on each other nor get the same case; on SQLite the write
transaction (`BEGIN IMMEDIATE`) serialises claims.

The lease is renewed while the reviewer works (the console renews only while the page sees
activity), and never past a maximum hold counted from the claim, so an idle or forgotten tab
gives the case back. A case given back by taking the next one is a skip: it is not served to
the same reviewer again for a while (a `CaseSkip` row that the claim statement leaves out), but
others get it at once.

Claims, renewals and skips are workflow, not moderation state, so they are not audit events;
assignments by a senior are. Every path here follows need-to-know (`trustdesk.cases.access`):
a reviewer is only ever served, assigned or left holding a case of a queue they may work.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    Update,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases import wellness
from trustdesk.cases.access import (
    Reviewer,
    judges_own_decision,
    may_take_assignments,
    may_work,
    visible_case,
)
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict, FieldError, Forbidden, NotFound
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import (
    Appeal,
    Case,
    CaseSkip,
    Queue,
    QueueOptOut,
    StaffUser,
    as_utc,
    utcnow,
)

LEASE_SECONDS = 300
# Candidates read per queue before locking one; more than the reviewers likely to claim at once.
_CANDIDATES = 64


class CaseNotHeld(Conflict):
    """The reviewer does not hold this case (never claimed, lease ran out, or already decided)."""

    def __init__(self, case_id: int, message: str = "you do not hold this case; take it again from the queue") -> None:
        super().__init__("case_id", message)
        self.case_id = case_id


@dataclass(frozen=True)
class Terms:
    """How long claims last: the lease each renewal extends, the most one claim may hold, a skip."""

    lease: timedelta = timedelta(seconds=LEASE_SECONDS)
    max_hold: timedelta = timedelta(minutes=60)
    skip: timedelta = timedelta(minutes=30)

    @classmethod
    def of(cls, settings: Settings) -> "Terms":
        return cls(max_hold=timedelta(minutes=settings.max_hold_minutes), skip=timedelta(minutes=settings.skip_minutes))


@dataclass
class Claim:
    case: Case | None
    # Graphic queues left out because the reviewer reached the hourly exposure limit.
    paused_queues: list[str] = field(default_factory=list)


def workable_queues(session: Session, reviewer: Reviewer) -> tuple[list[Queue], list[str]]:
    """The queues this reviewer may take cases from now, and graphic ones paused for a break."""
    rows = session.execute(
        select(Queue, QueueOptOut.staff_id)
        .outerjoin(QueueOptOut, (QueueOptOut.queue_id == Queue.id) & (QueueOptOut.staff_id == reviewer.id))
        .where(Queue.active.is_(True)).order_by(Queue.position)
    ).all()
    allowed = [q for q, opted_out in rows if opted_out is None and may_work(q, reviewer)]
    limited = [q for q in allowed if q.graphic and q.exposure_limit_per_hour is not None]
    exposure = wellness.exposure_this_hour(session, reviewer.id) if limited else 0
    paused = [q.name for q in limited if exposure >= (q.exposure_limit_per_hour or 0)]
    return [q for q in allowed if q.name not in paused], paused


@functools.cache
def _claim_statements(queue_count: int) -> tuple[Update, Select[tuple[int]]]:
    """The claim statement for a reviewer who may work `queue_count` queues, built once.

    Candidates are read per queue (each an ordered index scan) plus the reviewer's assigned
    cases in those same queues (an assignment never reaches past need-to-know), leaving out
    the cases this reviewer skipped and the appeals of their own decisions (a probe of a
    unique index each per row read), merged, then the first
    one not locked by a concurrent claim is leased — all in one statement.
    Parameters: me, now, until, limit, q0 … q(n-1).
    """
    me, now, limit = bindparam("me"), bindparam("now"), bindparam("limit")
    free = or_(Case.lease_until.is_(None), Case.lease_until < now)
    # Neither skipped by me nor the appeal of a decision I made.
    for_me = ~select(CaseSkip.case_id).where(CaseSkip.staff_id == me, CaseSkip.case_id == Case.id, CaseSkip.until > now).exists()
    for_me &= ~select(Appeal.id).where(Appeal.case_id == Case.id, Appeal.original_reviewer_id == me).exists()
    order = (Case.priority_score.desc(), Case.due_at)
    queues = [bindparam(f"q{i}") for i in range(queue_count)]
    branches = [
        select(Case.id, Case.priority_score, Case.due_at, literal(1).label("mine"))
        .where(Case.assigned_to == me, Case.queue_id.in_(queues), Case.status == "open", free, for_me).limit(limit).subquery()
    ] + [
        select(Case.id, Case.priority_score, Case.due_at, literal(0).label("mine"))
        .where(Case.queue_id == queue, Case.status == "open", free, Case.assigned_to.is_(None), for_me)
        .order_by(*order).limit(limit).subquery()
        for queue in queues
    ]
    merged = union_all(*[select(b.c.id, b.c.priority_score, b.c.due_at, b.c.mine) for b in branches]).subquery()
    candidates = (
        select(merged.c.id).order_by(merged.c.mine.desc(), merged.c.priority_score.desc(), merged.c.due_at).limit(limit).subquery()
    )
    # Joined from the candidates, so each database looks rows up by primary key.
    chosen = (
        select(Case.id)
        .select_from(candidates.join(Case, Case.id == candidates.c.id))
        .where(Case.status == "open", free, or_(Case.assigned_to.is_(None), Case.assigned_to == me))
        # Only free or own assigned cases pass the filter, so "assigned" means "assigned to me".
        .order_by(Case.assigned_to.is_not(None).desc(), *order)
        .limit(1).with_for_update(of=Case, skip_locked=True)
    )
    claim = (
        update(Case).where(Case.id == chosen.scalar_subquery()).values(claimed_by=me, claimed_at=now, lease_until=bindparam("until"))
        .returning(Case).execution_options(synchronize_session=False)
    )
    return claim, select(func.count()).select_from(candidates)


def _claim(session: Session, reviewer: Reviewer, queue_ids: list[int], now: datetime, until: datetime) -> Case | None:
    if not queue_ids:
        return None
    claim, count = _claim_statements(len(queue_ids))
    params: dict[str, Any] = {"me": reviewer.id, "now": now, "until": until, "limit": _CANDIDATES}
    params |= {f"q{i}": queue_id for i, queue_id in enumerate(queue_ids)}
    while True:
        case = session.execute(claim, params).scalar_one_or_none()
        if case is not None:
            return case
        # Nothing free among the candidates: either the queues are empty, or every candidate
        # was claimed meanwhile by someone else, in which case look further down.
        if session.execute(count, params).scalar_one() < params["limit"]:
            return None
        params["limit"] *= 4


def _queues_to_take_from(session: Session, reviewer: Reviewer, queue_id: int | None) -> tuple[list[Queue], list[str]]:
    """The queues to claim from (all workable ones, or just `queue_id`) and those paused for a break.

    Asked for one queue the reviewer cannot take from now, say why rather than serve nothing.
    """
    queues, paused = workable_queues(session, reviewer)
    if queue_id is None:
        return queues, paused
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("queue_id", f"no queue {queue_id}")
    if queue.id in {q.id for q in queues} or queue.name in paused:
        return [q for q in queues if q.id == queue.id], [name for name in paused if name == queue.name]
    if not may_work(queue, reviewer):
        raise Forbidden("queue_id", f"the {queue.name} queue is not for your roles or languages")
    raise Conflict("queue_id", f"the {queue.name} queue is not in your rotation now (inactive, or you stepped out of it)")


def skip(session: Session, reviewer_id: int, case_ids: list[int], until: datetime) -> None:
    """Keep these cases from the reviewer's "next case" until `until` (a skip again extends it)."""
    if not case_ids:
        return
    insert = conflict_insert(session, CaseSkip).values([{"staff_id": reviewer_id, "case_id": c, "until": until} for c in case_ids])
    session.execute(insert.on_conflict_do_update(index_elements=["staff_id", "case_id"], set_={"until": insert.excluded.until}))


def forget_ended_skips(session: Session) -> int:
    """Delete the skips that ran out (the claim ignores them already); the SLA sweep calls this,
    so that "next case" itself never pays for the clean-up."""
    return session.execute(delete(CaseSkip).where(CaseSkip.until <= utcnow())).rowcount


def next_case(session: Session, reviewer: Reviewer, terms: Terms = Terms(), *, queue_id: int | None = None) -> Claim:
    """Lease the reviewer the most urgent case they may work (from one queue if `queue_id` is given).

    What they held is given back as skipped: others may take it at once, they get it again only
    after `terms.skip`.
    """
    now = utcnow()
    queues, paused = _queues_to_take_from(session, reviewer, queue_id)
    skip(session, reviewer.id, release_all(session, reviewer.id), now + terms.skip)
    case = _claim(session, reviewer, [q.id for q in queues], now, now + min(terms.lease, terms.max_hold))
    if case is not None and any(q.id == case.queue_id and q.graphic for q in queues):
        wellness.count_exposure(session, reviewer.id)
    return Claim(case, paused)


def held(session: Session, reviewer: Reviewer, case_id: int, *, lock: bool = True) -> Case:
    """The case if this reviewer holds it under a live lease; CaseNotHeld otherwise.

    A case the reviewer may not see is NotFound, whoever holds it.
    """
    case = visible_case(session, reviewer, case_id, lock=lock)
    if case.status != "open" or case.claimed_by != reviewer.id or case.lease_until is None or as_utc(case.lease_until) <= utcnow():
        raise CaseNotHeld(case_id)
    return case


def hold_limit(case: Case, terms: Terms) -> datetime:
    """When the current claim must end, however active its holder is."""
    return as_utc(case.claimed_at or utcnow()) + terms.max_hold


def renew(session: Session, reviewer: Reviewer, case_id: int, terms: Terms = Terms()) -> Case:
    """Extend the lease by `terms.lease`, never past the maximum hold (so that renewal is refused then)."""
    try:
        case = held(session, reviewer, case_id)
    except CaseNotHeld:
        raise _lost(session, reviewer, case_id, terms) from None
    case.lease_until = min(utcnow() + terms.lease, hold_limit(case, terms))
    return case


def _lost(session: Session, reviewer: Reviewer, case_id: int, terms: Terms) -> CaseNotHeld:
    """Why a reviewer's hold ended, in words they can act on."""
    case = visible_case(session, reviewer, case_id)
    if case.status != "open" or case.claimed_by != reviewer.id:
        return CaseNotHeld(case_id)
    if hold_limit(case, terms) <= utcnow():
        minutes = int(terms.max_hold.total_seconds() // 60)
        return CaseNotHeld(case_id, f"you held this case for {minutes} minutes, the most one claim may, so it went back to "
                                    "the queue; take it again if you are still working on it")
    return CaseNotHeld(case_id, "your hold ran out while the page was idle, so the case went back to the queue")


def release(session: Session, reviewer: Reviewer, case_id: int) -> None:
    """Give one held case back to its queue."""
    case = held(session, reviewer, case_id)
    case.claimed_by, case.lease_until = None, None


def release_all(session: Session, reviewer_id: int) -> list[int]:
    """Give back every case the reviewer holds; returns their ids."""
    return list(session.execute(
        update(Case).where(Case.claimed_by == reviewer_id, Case.status == "open")
        .values(claimed_by=None, lease_until=None).returning(Case.id).execution_options(synchronize_session=False)
    ).scalars())


def assign(session: Session, actor: Actor, assigner: Reviewer, case_id: int, staff_id: int | None) -> Case:
    """A senior hands a case to a named reviewer (or back to the queue with None).

    The assigner must see the case, and the assignee must be an active reviewer who may work
    its queue: an assignment is never a way around a queue's roles or languages, nor a case
    left with someone who cannot take cases.
    """
    case = visible_case(session, assigner, case_id, lock=True)
    if case.status != "open":
        raise CaseNotHeld(case_id, "no open case with this id")
    if staff_id is not None:
        assignee = session.get(StaffUser, staff_id)
        if assignee is None:
            raise NotFound("staff_id", f"no staff user {staff_id}")
        queue = session.get_one(Queue, case.queue_id)
        if not may_take_assignments(queue, assignee):
            raise FieldError("staff_id", f"{assignee.display_name} may not work the {queue.name} queue")
        if judges_own_decision(session, staff_id, case_id):
            raise FieldError("staff_id", f"{assignee.display_name} made the decision under appeal; someone else decides the appeal")
    before = {"assigned_to": case.assigned_to}
    case.assigned_to = staff_id
    if case.claimed_by is not None and case.claimed_by != staff_id:
        case.claimed_by, case.lease_until = None, None
    record(session, actor=actor, verb="case.assigned", object_type="case", object_id=case.id, before=before, after={"assigned_to": staff_id})
    return case
