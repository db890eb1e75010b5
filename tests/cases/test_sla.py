"""SLA breaches are audited events; cases nearing breach move to their escalation queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.cases import factories
from trustdesk.cases import sla
from trustdesk.config import Settings
from trustdesk.jobs.worker import run_worker
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Case, Job, utcnow


def test_breach_is_recorded_once(db: Database) -> None:
    with db.session() as s:
        q = factories.queue(s)
        late, on_time = factories.open_cases(s, q.id, 2)
        s.execute(update(Case).where(Case.id == late).values(due_at=utcnow() - timedelta(minutes=1)))
        s.execute(update(Case).where(Case.id == on_time).values(due_at=utcnow() + timedelta(hours=1)))
    with db.session() as s:
        assert sla.sweep(s) == (1, 0)
    with db.session() as s:
        assert sla.sweep(s) == (0, 0)
    with db.reader() as s:
        assert s.get(Case, late).breached_at is not None and s.get(Case, on_time).breached_at is None
        events = s.execute(select(AuditEvent.object_id).where(AuditEvent.verb == "case.sla_breached")).scalars().all()
        assert events == [str(late)]


def test_cases_near_breach_auto_escalate(db: Database) -> None:
    with db.session() as s:
        senior = factories.queue(s, "Senior", routing_expression="false")
        general = factories.queue(s, "General", escalate_minutes_before_breach=30, escalation_queue="Senior")
        near, far = factories.open_cases(s, general.id, 2)
        s.execute(update(Case).where(Case.id == near).values(due_at=utcnow() + timedelta(minutes=10)))
        s.execute(update(Case).where(Case.id == far).values(due_at=utcnow() + timedelta(hours=5)))
    with db.session() as s:
        assert sla.sweep(s) == (0, 1)
    with db.reader() as s:
        assert s.get(Case, near).queue_id == senior.id and s.get(Case, far).queue_id == general.id
        escalations = s.execute(select(AuditEvent.object_id).where(AuditEvent.verb == "case.escalated")).scalars().all()
        assert escalations == [str(near)]


def test_the_worker_schedules_one_recurring_sweep(db: Database, settings: Settings) -> None:
    run_worker(db, settings, worker_id="w1", once=True)
    run_worker(db, settings, worker_id="w2", once=True)
    with db.reader() as s:
        sweeps = s.execute(select(Job).where(Job.kind == sla.SLA_SWEEP)).scalars().all()
    assert len(sweeps) == 1 and sweeps[0].status == "queued"
    with db.session() as s:  # make it due: running it does the sweep and schedules the next one
        s.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    assert run_worker(db, settings, worker_id="w1", once=True) == 1
    with db.reader() as s:
        statuses = sorted(s.execute(select(Job.status).where(Job.kind == sla.SLA_SWEEP)).scalars())
    assert statuses == ["done", "queued"]
