"""SLA upkeep: mark breached cases and move cases nearing breach to their escalation queue.

Runs as the recurring `sla_sweep` job; each run schedules the next, so one sweep a minute
happens however many workers there are (a job is claimed by exactly one of them).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases import claiming
from trustdesk.jobs.queue import enqueue
from trustdesk.store.models import Case, Job, Queue, as_utc, utcnow

SLA_SWEEP = "sla_sweep"
SWEEP_EVERY = timedelta(seconds=60)
SLA_ACTOR = Actor("system", "sla")
_BATCH = 500


def sweep(session: Session) -> tuple[int, int]:
    """Record breaches and auto-escalations due now; returns (breached, escalated). Skips that
    ran out are cleared on the way (`claiming.forget_ended_skips`)."""
    claiming.forget_ended_skips(session)
    now = utcnow()
    breached = session.execute(
        select(Case).where(Case.status == "open", Case.due_at < now, Case.breached_at.is_(None)).limit(_BATCH).with_for_update(skip_locked=True)
    ).scalars().all()
    for case in breached:
        case.breached_at = now
        record(session, actor=SLA_ACTOR, verb="case.sla_breached", object_type="case", object_id=case.id,
               after={"due_at": case.due_at, "band": case.band, "queue_id": case.queue_id})
    escalated = 0
    for queue in session.execute(select(Queue).where(Queue.escalation_queue_id.is_not(None), Queue.escalate_minutes_before_breach.is_not(None))).scalars():
        horizon = now + timedelta(minutes=queue.escalate_minutes_before_breach or 0)
        for case in session.execute(
            select(Case).where(Case.queue_id == queue.id, Case.status == "open", Case.escalated_at.is_(None), Case.due_at <= horizon)
            .limit(_BATCH).with_for_update(skip_locked=True)
        ).scalars():
            before = {"queue_id": queue.id, "assigned_to": case.assigned_to}
            case.queue_id, case.escalated_at = queue.escalation_queue_id, now
            # The escalation queue's team takes it from here: a claim or assignment would keep
            # it from them (and the assignee may not be allowed to work that queue).
            case.claimed_by = case.lease_until = case.assigned_to = None
            escalated += 1
            record(session, actor=SLA_ACTOR, verb="case.escalated", object_type="case", object_id=case.id,
                   before=before, after={"queue_id": queue.escalation_queue_id, "due_at": case.due_at, "assigned_to": None,
                                         "reason": "nearing SLA breach"})
    return len(breached), escalated


def minutes_left(case: Case) -> float:
    return (as_utc(case.due_at) - utcnow()).total_seconds() / 60


def ensure_scheduled(session: Session) -> None:
    """Queue the next sweep unless one is already waiting."""
    waiting = session.execute(select(Job.id).where(Job.kind == SLA_SWEEP, Job.status.in_(("queued", "running"))).limit(1)).first()
    if waiting is None:
        enqueue(session, SLA_SWEEP, {}, run_at=utcnow() + SWEEP_EVERY)


def handle_sla_sweep(ctx: Any, _payload: dict[str, Any]) -> None:
    with ctx.db.session() as session:
        sweep(session)
    with ctx.db.session() as session:
        enqueue(session, SLA_SWEEP, {}, run_at=utcnow() + SWEEP_EVERY)
