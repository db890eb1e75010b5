"""The worker loop: dispatch by kind through the registry, typed payloads, recurring jobs."""

from __future__ import annotations

import ast
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

import trustdesk
from trustdesk.config import Settings
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import JOB_MODULES, KINDS, RegistrationError, Registry, WorkerContext
from trustdesk.jobs.worker import run_worker
from trustdesk.store.database import Database
from trustdesk.store.models import Job, as_utc, utcnow


@dataclass(frozen=True)
class Echo:
    n: int


@dataclass(frozen=True)
class Tick:
    pass


def _enqueue(db: Database, kinds: Registry, payload: object) -> int:
    with db.session() as session:
        job_id = enqueue(session, payload, kinds=kinds)
    assert job_id is not None
    return job_id


def _job(db: Database, job_id: int) -> Job:
    with db.session() as session:
        return session.get_one(Job, job_id)


def test_once_drains_due_jobs_through_their_handlers_with_typed_payloads(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    kinds, seen = Registry((__name__,)), []

    @kinds.job_kind("test.echo", Echo)
    def echo(ctx: WorkerContext, job: Echo) -> None:
        assert isinstance(ctx.db, Database)
        seen.append(job)

    ids = [_enqueue(db, kinds, Echo(n)) for n in range(3)]
    with caplog.at_level(logging.INFO, logger="trustdesk.jobs.worker"):
        assert run_worker(db, settings, worker_id="w1", once=True, kinds=kinds) == 3
    assert seen == [Echo(0), Echo(1), Echo(2)]
    assert [(_job(db, i).status, _job(db, i).payload) for i in ids] == [("done", {"n": n}) for n in range(3)]
    done = [r for r in caplog.records if r.getMessage() == "job done"]
    assert [(r.job_id, r.job_kind, r.worker_id) for r in done] == [(i, "test.echo", "w1") for i in ids]


def test_handler_error_fails_the_job_for_a_later_retry(db: Database, settings: Settings) -> None:
    kinds = Registry((__name__,))

    @kinds.job_kind("test.explode", Echo)
    def explode(ctx: WorkerContext, job: Echo) -> None:
        raise RuntimeError("upstream down")

    job_id = _enqueue(db, kinds, Echo(1))
    assert run_worker(db, settings, worker_id="w1", once=True, kinds=kinds) == 1  # the retry is not due yet
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.last_error) == ("queued", 1, "RuntimeError: upstream down")


def test_a_payload_that_does_not_fit_its_type_fails_the_job(db: Database, settings: Settings) -> None:
    kinds, seen = Registry((__name__,)), []
    kinds.job_kind("test.echo", Echo)(lambda ctx, job: seen.append(job))
    job_id = _enqueue(db, kinds, Echo(1))
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(payload={"n": "not a number"}))
    assert run_worker(db, settings, worker_id="w1", once=True, kinds=kinds) == 1
    error = _job(db, job_id).last_error
    assert seen == [] and error is not None and error.startswith("ValidationError:")


def test_a_kind_the_worker_does_not_know_waits_for_one_that_does(db: Database, settings: Settings) -> None:
    newer, older = Registry((__name__,)), Registry((__name__,))
    newer.job_kind("test.new-kind", Echo)(lambda ctx, job: None)
    job_id = _enqueue(db, newer, Echo(1))
    assert run_worker(db, settings, worker_id="old", once=True, kinds=older) == 0
    assert (_job(db, job_id).status, _job(db, job_id).attempts) == ("queued", 0)
    assert run_worker(db, settings, worker_id="new", once=True, kinds=newer) == 1
    assert _job(db, job_id).status == "done"


def test_a_recurring_job_runs_again_after_success_and_after_failure(db: Database, settings: Settings) -> None:
    kinds, outcomes = Registry((__name__,)), ["ok", "fail", "ok"]

    @kinds.job_kind("test.tick", Tick, every=timedelta(minutes=5))
    def tick(ctx: WorkerContext, job: Tick) -> None:
        if outcomes.pop(0) == "fail":
            raise ValueError("one bad run")

    errors = []
    for _ in range(3):
        run_worker(db, settings, worker_id="w1", once=True, kinds=kinds)  # schedules the first run, 5 min ahead
        with db.session() as session:
            session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
        assert run_worker(db, settings, worker_id="w1", once=True, kinds=kinds) == 1
        with db.session() as session:
            jobs = session.execute(select(Job)).scalars().all()
        assert len(jobs) == 1 and jobs[0].status == "queued" and jobs[0].singleton_key == "test.tick"
        assert utcnow() + timedelta(minutes=4) < as_utc(jobs[0].run_at) <= utcnow() + timedelta(minutes=5)
        errors.append(jobs[0].last_error)
    assert outcomes == [] and errors == [None, "ValueError: one bad run", None]


def test_a_recurring_run_whose_every_attempt_died_with_its_worker_is_scheduled_again(db: Database, settings: Settings) -> None:
    kinds, runs = Registry((__name__,)), []
    kinds.job_kind("test.tick", Tick, every=timedelta(minutes=5))(lambda ctx, job: runs.append(job))
    run_worker(db, settings, worker_id="w1", once=True, kinds=kinds)  # schedules the first run
    with db.session() as session:  # its last attempt's worker died: the lease ran out while running
        session.execute(update(Job).values(status="running", attempts=Job.max_attempts, locked_by="dead",
                                           locked_until=utcnow() - timedelta(seconds=1)))
    run_worker(db, settings, worker_id="w2", once=True, kinds=kinds)
    with db.reader() as session:
        [job] = session.execute(select(Job)).scalars().all()
    assert (job.status, job.attempts, job.singleton_key) == ("queued", 0, "test.tick")
    assert job.last_error is not None and job.last_error.startswith("lease expired on attempt")
    assert utcnow() + timedelta(minutes=4) < as_utc(job.run_at) <= utcnow() + timedelta(minutes=5)
    with db.session() as session:
        session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    assert run_worker(db, settings, worker_id="w2", once=True, kinds=kinds) == 1 and runs == [Tick()]


def test_a_stray_job_of_a_recurring_kind_runs_once(db: Database, settings: Settings) -> None:
    kinds, runs = Registry((__name__,)), []
    kinds.job_kind("test.tick", Tick, every=timedelta(minutes=5))(lambda ctx, job: runs.append(job))
    stray = _enqueue(db, kinds, Tick())  # no singleton key: not the scheduled run
    assert run_worker(db, settings, worker_id="w1", once=True, kinds=kinds) == 1
    assert runs == [Tick()] and _job(db, stray).status == "done"
    with db.reader() as session:
        assert session.execute(select(Job.singleton_key).where(Job.status == "queued")).scalars().all() == ["test.tick"]


def test_a_recurring_kind_with_copies_is_scheduled_once_per_copy_and_each_copy_recurs(db: Database, settings: Settings) -> None:
    kinds, runs = Registry((__name__,)), []
    kinds.job_kind("test.tick", Tick, every=timedelta(minutes=5), copies=3)(lambda ctx, job: runs.append(job))
    run_worker(db, settings, worker_id="w1", once=True, kinds=kinds)
    run_worker(db, settings, worker_id="w2", once=True, kinds=kinds)  # a second worker schedules nothing more
    with db.session() as session:
        session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    assert run_worker(db, settings, worker_id="w1", once=True, kinds=kinds) == 3
    with db.reader() as session:
        queued = session.execute(select(Job.singleton_key).where(Job.status == "queued").order_by(Job.singleton_key)).scalars().all()
    assert len(runs) == 3 and queued == ["test.tick", "test.tick#2", "test.tick#3"]
    with pytest.raises(RegistrationError, match="copies are for recurring kinds"):
        kinds.job_kind("test.once", Echo, copies=2)(lambda ctx, job: None)


def test_registration_is_refused_from_an_unlisted_module_twice_or_with_fields_for_a_recurring_kind() -> None:
    kinds = Registry(("trustdesk.somewhere_else",))
    with pytest.raises(RegistrationError, match="add 'tests.jobs.test_worker' to the registry's modules"):
        kinds.job_kind("test.echo", Echo)(lambda ctx, job: None)
    mine = Registry((__name__,))
    mine.job_kind("test.echo", Echo)(lambda ctx, job: None)
    with pytest.raises(RegistrationError, match="registered twice"):
        mine.job_kind("test.echo-again", Echo)(lambda ctx, job: None)
    with pytest.raises(RegistrationError, match="must have no fields"):
        mine.job_kind("test.every", Echo, every=timedelta(minutes=1))(lambda ctx, job: None)


def test_the_listed_modules_register_the_kinds_and_the_jobs_package_imports_no_feature() -> None:
    KINDS.load()
    assert KINDS.names == ["analyse_subject", "bulk_decision", "deliver_webhooks", "dsa_submit_statements", "evaluate_batch", "fetch_media",
                           "lift_suspensions", "ncmec_submit_report", "retention_purge", "send_notice", "sla_sweep"]
    assert [(k.name, k.singleton_keys) for k in KINDS.recurring] == [
        ("deliver_webhooks", ("deliver_webhooks", "deliver_webhooks#2")), ("dsa_submit_statements", ("dsa_submit_statements",)),
        ("lift_suspensions", ("lift_suspensions",)), ("retention_purge", ("retention_purge",)), ("sla_sweep", ("sla_sweep",)),
    ]
    features = tuple({module.rsplit(".", 1)[0] for module in JOB_MODULES})  # trustdesk.cases, …
    for path in (Path(trustdesk.__file__).parent / "jobs").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [name for name in imported if name.startswith(features)], path.name


def test_loop_runs_until_stopped(db: Database, settings: Settings) -> None:
    kinds, handled, stop = Registry((__name__,)), threading.Event(), threading.Event()
    kinds.job_kind("test.signal", Echo)(lambda ctx, job: handled.set())
    counts: list[int] = []
    thread = threading.Thread(
        target=lambda: counts.append(run_worker(db, settings, worker_id="w1", poll_seconds=0.01, stop_event=stop, kinds=kinds))
    )
    thread.start()
    _enqueue(db, kinds, Echo(1))  # arrives while the worker is already polling
    assert handled.wait(timeout=30)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert counts == [1]


def test_a_set_stop_event_claims_nothing(db: Database, settings: Settings) -> None:
    kinds = Registry((__name__,))
    kinds.job_kind("test.echo", Echo)(lambda ctx, job: None)
    job_id = _enqueue(db, kinds, Echo(1))
    stop = threading.Event()
    stop.set()
    assert run_worker(db, settings, worker_id="w1", stop_event=stop, kinds=kinds) == 0
    assert _job(db, job_id).status == "queued"
