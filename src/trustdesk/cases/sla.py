"""SLA upkeep: mark breached cases and hand cases nearing breach up with a raised priority.

A queue with `escalate_minutes_before_breach` escalates its cases that close to breach to the
senior tier (`trustdesk.cases.escalations`: the senior tier queue, priority raised as for a
high-urgency escalation, that queue's SLA from now), or, when it names an escalation queue,
moves them there with the same raised priority.

Runs as the recurring `sla_sweep` job: one job for the whole deployment however many workers
there are (`trustdesk.jobs.queue` keeps it single), run again a minute after each run.

Decided child-safety cases whose CyberTipline report is still due past its deadline are
breached too (`trustdesk.ncmec.filing_deadline.mark_breaches`), after the queues.

Each queue is swept on its own, in transactions of at most `_BATCH` cases: a queue that cannot
be swept (a setting that cannot be applied, a row that cannot be written) is logged, counted in
`trustdesk_sla_sweep_failures_total` and named in the job's error, and every other queue is
swept as usual; the next run tries it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases import claiming, escalations
from trustdesk.cases.escalations import EscalationRequest
from trustdesk.domain.priority import Band, escalated
from trustdesk.domain.vocabulary import CaseTier, Urgency
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.ncmec import filing_deadline
from trustdesk.store.database import Database
from trustdesk.store.models import Case, Queue, as_utc, utcnow

SLA_SWEEP = "sla_sweep"
SWEEP_EVERY = timedelta(seconds=60)
SLA_ACTOR = Actor("system", "sla")
_BATCH = 500
SWEEP_FAILURES = Counter("trustdesk_sla_sweep_failures_total", "Queues the SLA sweep could not sweep", ["queue_id"])
logger = logging.getLogger(__name__)


@dataclass
class SweepOutcome:
    breached: int = 0
    escalated: int = 0
    failed_queues: list[int] = field(default_factory=list)


class SweepIncomplete(RuntimeError):
    """Some queues could not be swept; the others were."""


def sweep(db: Database) -> SweepOutcome:
    """Record the breaches and auto-escalations due now, queue by queue; skips that ran out
    are cleared on the way (`claiming.forget_ended_skips`)."""
    with db.session() as session:
        claiming.forget_ended_skips(session)
    now = utcnow()
    outcome = SweepOutcome()
    with db.reader() as session:
        queue_ids = list(session.execute(select(Queue.id).order_by(Queue.id)).scalars())
    for queue_id in queue_ids:
        try:
            outcome.breached += _in_batches(db, lambda session: _mark_breaches(session, queue_id, now))
            outcome.escalated += _in_batches(db, lambda session: _escalate(session, queue_id, now))
        except Exception:  # one queue's failure must not stop the sweep of the others
            SWEEP_FAILURES.labels(str(queue_id)).inc()
            logger.exception("SLA sweep of a queue failed; the other queues are swept", extra={"queue_id": queue_id})
            outcome.failed_queues.append(queue_id)
    outcome.breached += _in_batches(db, lambda session: filing_deadline.mark_breaches(session, SLA_ACTOR, now))
    return outcome


def _in_batches(db: Database, step: Callable[[Session], int]) -> int:
    """Run `step` in one transaction after another until it finds less than a full batch."""
    total = 0
    while True:
        with db.session() as session:
            done = step(session)
        total += done
        if done < _BATCH:
            return total


def _mark_breaches(session: Session, queue_id: int, now: datetime) -> int:
    cases = session.execute(
        select(Case).where(Case.queue_id == queue_id, Case.status == "open", Case.due_at < now, Case.breached_at.is_(None))
        .limit(_BATCH).with_for_update(skip_locked=True)
    ).scalars().all()
    for case in cases:
        case.breached_at = now
        record(session, actor=SLA_ACTOR, verb="case.sla_breached", object_type="case", object_id=case.id,
               after={"due_at": case.due_at, "band": case.band, "queue_id": case.queue_id})
    return len(cases)


def _escalate(session: Session, queue_id: int, now: datetime) -> int:
    """Hand the queue's cases nearing breach up, with a raised priority, instead of leaving them
    behind the rest of the queue: to the senior tier, or to the queue named as the escalation
    queue when there is one."""
    queue = session.get_one(Queue, queue_id)
    if queue.escalate_minutes_before_breach is None or queue.tier is not None:
        return 0
    horizon = now + timedelta(minutes=queue.escalate_minutes_before_breach)
    cases = session.execute(
        select(Case).where(Case.queue_id == queue.id, Case.status == "open", Case.escalated_at.is_(None), Case.due_at <= horizon)
        .order_by(Case.id).limit(_BATCH).with_for_update(skip_locked=True)
    ).scalars().all()
    reason = f"nearing SLA breach in {queue.name}"
    for case in cases:
        if queue.escalation_queue_id is None:
            escalations.escalate_locked(session, SLA_ACTOR, case, EscalationRequest(CaseTier.SENIOR, reason, Urgency.HIGH))
        else:
            _move(session, case, queue, now, reason)
    return len(cases)


def _move(session: Session, case: Case, queue: Queue, now: datetime, reason: str) -> None:
    """Move a case to the queue's named escalation queue, raised as a high-urgency escalation
    would be; its SLA clock keeps running."""
    before = {"queue_id": queue.id, "assigned_to": case.assigned_to, "priority_score": case.priority_score, "band": case.band}
    priority = escalated(case.priority_score, Band(case.band), case.priority_reasons, Urgency.HIGH)
    case.queue_id, case.escalated_at = queue.escalation_queue_id, now
    case.priority_score, case.band, case.priority_reasons = priority.score, priority.band.value, priority.reasons
    # The escalation queue's team takes it from here: a claim or assignment would keep
    # it from them (and the assignee may not be allowed to work that queue).
    case.claimed_by = case.lease_until = case.assigned_to = None
    record(session, actor=SLA_ACTOR, verb="case.escalated", object_type="case", object_id=case.id,
           before=before, after={"queue_id": queue.escalation_queue_id, "due_at": case.due_at, "assigned_to": None,
                                 "priority_score": case.priority_score, "band": case.band, "reason": reason})


def minutes_left(case: Case) -> float:
    return (as_utc(case.due_at) - utcnow()).total_seconds() / 60


def closed_late(case: Case) -> bool:
    """Whether a closed case missed its SLA: marked by the sweep, or decided after it was due
    (the sweep runs every minute, and not at all while the worker is down)."""
    return case.breached_at is not None or (case.decided_at is not None and as_utc(case.decided_at) > as_utc(case.due_at))


@dataclass(frozen=True)
class SlaSweep:
    """The recurring sweep's payload: it needs nothing."""


@job_kind(SLA_SWEEP, SlaSweep, every=SWEEP_EVERY)
def handle_sla_sweep(ctx: WorkerContext, _job: SlaSweep) -> None:
    outcome = sweep(ctx.db)
    if outcome.failed_queues:
        raise SweepIncomplete(f"queues {', '.join(map(str, outcome.failed_queues))} could not be swept; the others were")
