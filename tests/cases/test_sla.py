"""SLA breaches are audited events; cases nearing breach move to their escalation queue; the
sweep is one recurring job however many workers start, and one bad queue does not stop it."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from tests.cases import factories
from tests.concurrency import together
from trustdesk.cases import sla
from trustdesk.config import Settings
from trustdesk.jobs.registry import KINDS
from trustdesk.jobs.worker import run_worker, schedule_recurring
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Case, Job, Queue, as_utc, utcnow


def _due_in(db: Database, case_id: int, minutes: float) -> None:
    with db.session() as s:
        s.execute(update(Case).where(Case.id == case_id).values(due_at=utcnow() + timedelta(minutes=minutes)))


def test_breach_is_recorded_once(db: Database) -> None:
    with db.session() as s:
        q = factories.queue(s)
        late, on_time = factories.open_cases(s, q.id, 2)
    _due_in(db, late, -1)
    _due_in(db, on_time, 60)
    assert (sla.sweep(db).breached, sla.sweep(db).breached) == (1, 0)
    with db.reader() as s:
        assert s.get_one(Case, late).breached_at is not None and s.get_one(Case, on_time).breached_at is None
        events = s.execute(select(AuditEvent.object_id).where(AuditEvent.verb == "case.sla_breached")).scalars().all()
        assert events == [str(late)]


def test_breaches_beyond_one_batch_are_all_recorded_in_one_run(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sla, "_BATCH", 3)
    with db.session() as s:
        q = factories.queue(s)
        ids = factories.open_cases(s, q.id, 7)
        s.execute(update(Case).values(due_at=utcnow() - timedelta(minutes=1)))
    assert sla.sweep(db).breached == 7
    with db.reader() as s:
        assert s.execute(select(func.count()).where(Case.id.in_(ids), Case.breached_at.is_not(None))).scalar_one() == 7


def test_cases_near_breach_auto_escalate(db: Database) -> None:
    with db.session() as s:
        senior = factories.queue(s, "Senior", routing_expression="false")
        general = factories.queue(s, "General", escalate_minutes_before_breach=30, escalation_queue="Senior")
        near, far = factories.open_cases(s, general.id, 2)
    _due_in(db, near, 10)
    _due_in(db, far, 300)
    assert sla.sweep(db).escalated == 1
    with db.reader() as s:
        assert s.get_one(Case, near).queue_id == senior.id and s.get_one(Case, far).queue_id == general.id
        escalations = s.execute(select(AuditEvent.object_id).where(AuditEvent.verb == "case.escalated")).scalars().all()
        assert escalations == [str(near)]


def _failures(queue_id: int) -> float:
    return REGISTRY.get_sample_value("trustdesk_sla_sweep_failures_total", {"queue_id": str(queue_id)}) or 0.0


def test_a_queue_with_an_impossible_setting_does_not_stop_the_sweep_of_the_others(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with db.session() as s:
        senior = factories.queue(s, "Senior", routing_expression="false")
        broken = factories.queue(s, "Broken", routing_expression="true", escalate_minutes_before_breach=30, escalation_queue="Senior")
        general = factories.queue(s, "General", escalate_minutes_before_breach=30, escalation_queue="Senior")
        broken_near, broken_late = factories.open_cases(s, broken.id, 2, start=0)
        general_near, general_late = factories.open_cases(s, general.id, 2, start=10)
    for near, late in ((broken_near, broken_late), (general_near, general_late)):
        _due_in(db, near, 10)
        _due_in(db, late, -5)
    # A row stored before settings were bounded, with a horizon off the calendar: 10^12 minutes
    # ahead (SQLite keeps it; PostgreSQL's INTEGER cannot), or 2^31 minutes back (both keep it).
    impossible = 10**12 if db.is_sqlite else -(2**31)
    with db.session() as s:
        s.execute(update(Queue).where(Queue.id == broken.id).values(escalate_minutes_before_breach=impossible))
    failures_before = _failures(broken.id)
    with caplog.at_level(logging.ERROR, logger="trustdesk.cases.sla"):
        outcome = sla.sweep(db)
    assert outcome.failed_queues == [broken.id]
    assert (outcome.breached, outcome.escalated) == (2, 2)  # both queues' breaches; the good queue's escalations
    with db.reader() as s:
        assert s.get_one(Case, broken_late).breached_at is not None  # breaches need no setting: recorded anyway
        assert [s.get_one(Case, i).queue_id for i in (general_near, general_late)] == [senior.id, senior.id]
        assert [s.get_one(Case, i).queue_id for i in (broken_near, broken_late)] == [broken.id, broken.id]
    assert _failures(broken.id) == failures_before + 1
    logged = [r for r in caplog.records if r.getMessage().startswith("SLA sweep of a queue failed")]
    assert [r.queue_id for r in logged] == [broken.id] and logged[0].exc_info is not None

    # As the job: the failure is named in its error and the next run is still scheduled.
    run_worker(db, settings, worker_id="w1", once=True)
    with db.session() as s:
        s.execute(update(Job).where(Job.kind == sla.SLA_SWEEP).values(run_at=utcnow() - timedelta(seconds=1)))
    assert run_worker(db, settings, worker_id="w1", once=True) >= 1  # other recurring kinds (delivery) may be due too
    with db.reader() as s:
        job = s.execute(select(Job).where(Job.kind == sla.SLA_SWEEP)).scalar_one()
    assert job.status == "queued" and job.last_error == f"SweepIncomplete: queues {broken.id} could not be swept; the others were"


def test_the_worker_schedules_one_recurring_sweep(db: Database, settings: Settings) -> None:
    run_worker(db, settings, worker_id="w1", once=True)
    run_worker(db, settings, worker_id="w2", once=True)
    with db.reader() as s:
        sweeps = s.execute(select(Job).where(Job.kind == sla.SLA_SWEEP)).scalars().all()
    assert len(sweeps) == 1 and sweeps[0].status == "queued"
    with db.session() as s:  # make it due: running it does the sweep and queues the same job again
        s.execute(update(Job).where(Job.kind == sla.SLA_SWEEP).values(run_at=utcnow() - timedelta(seconds=1)))
    assert run_worker(db, settings, worker_id="w1", once=True) >= 1  # other recurring kinds (delivery) may be due too
    with db.reader() as s:
        after = s.execute(select(Job.id, Job.status, Job.run_at).where(Job.kind == sla.SLA_SWEEP)).all()
    assert [(row.id, row.status) for row in after] == [(sweeps[0].id, "queued")] and as_utc(after[0].run_at) > utcnow()


def _waiting_sweeps(db: Database) -> list[tuple[int, str]]:
    with db.reader() as s:
        return [tuple(r) for r in s.execute(select(Job.id, Job.status).where(Job.kind == sla.SLA_SWEEP)).all()]


def test_workers_starting_together_keep_one_sweep_chain(db: Database, settings: Settings) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; workers starting together race on PostgreSQL")
    KINDS.load()
    together([lambda: schedule_recurring(db, KINDS)] * 16)
    sweeps = _waiting_sweeps(db)
    assert len(sweeps) == 1 and sweeps[0][1] == "queued"
    for _round in range(10):
        with db.session() as s:
            s.execute(update(Job).where(Job.kind == sla.SLA_SWEEP).values(run_at=utcnow() - timedelta(seconds=1)))
        together([functools.partial(run_worker, db, settings, worker_id=f"w{i}", once=True) for i in range(8)])
        assert _waiting_sweeps(db) == [(sweeps[0][0], "queued")]
