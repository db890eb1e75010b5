"""The job queue on both databases: claims, leases, retries, and concurrent workers."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from trustdesk.jobs.queue import claim, complete, enqueue, fail, reschedule, retry_delay
from trustdesk.jobs.registry import Registry, WorkerContext
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, Job, as_utc, utcnow

KINDS = Registry((__name__,))


@dataclass(frozen=True)
class Echo:
    n: int


@dataclass(frozen=True)
class Other:
    n: int


@KINDS.job_kind("test.echo", Echo)
def _echo(ctx: WorkerContext, job: Echo) -> None:
    pass


@KINDS.job_kind("test.other", Other)
def _other(ctx: WorkerContext, job: Other) -> None:
    pass


def _enqueue(db: Database, kind: str = "test.echo", *, max_attempts: int = 5, run_in: float = 0) -> int:
    payload = Echo(1) if kind == "test.echo" else Other(1)
    with db.session() as session:
        job_id = enqueue(session, payload, run_at=utcnow() + timedelta(seconds=run_in), kinds=KINDS)
        assert job_id is not None
        session.execute(update(Job).where(Job.id == job_id).values(max_attempts=max_attempts))
        return job_id


def _job(db: Database, job_id: int) -> Job:
    # A write session, because a reader's rollback expires what it loaded.
    with db.session() as session:
        return session.get_one(Job, job_id)


def _expire_lease(db: Database, job_id: int) -> None:
    with db.session() as session:
        session.get_one(Job, job_id).locked_until = utcnow() - timedelta(seconds=1)


def test_enqueue_claim_complete(db: Database) -> None:
    job_id = _enqueue(db)
    before = utcnow()
    job = claim(db, "w1", ["test.echo"], lease_seconds=60)
    assert job is not None
    assert (job.id, job.payload, job.status, job.locked_by, job.attempts) == (job_id, {"n": 1}, "running", "w1", 1)
    assert as_utc(job.locked_until) >= before + timedelta(seconds=60)

    complete(db, job_id)
    done = _job(db, job_id)
    assert (done.status, done.locked_by, done.locked_until) == ("done", None, None)
    assert done.finished_at is not None
    with db.reader() as session:
        assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0


def test_claim_takes_the_oldest_due_job_of_the_given_kinds(db: Database) -> None:
    later = _enqueue(db, run_in=-1)
    _enqueue(db, run_in=3600)
    other_kind = _enqueue(db, "test.other", run_in=-5)
    oldest = _enqueue(db, run_in=-2)
    assert [j.id for j in (claim(db, "w", ["test.echo"], 60), claim(db, "w", ["test.echo"], 60))] == [oldest, later]
    assert claim(db, "w", ["test.echo"], 60) is None
    any_kind = claim(db, "w", None, 60)
    assert any_kind is not None and any_kind.id == other_kind


def test_a_claimed_job_is_not_claimed_again(db: Database) -> None:
    _enqueue(db)
    assert claim(db, "w1", None, 60) is not None
    assert claim(db, "w2", None, 60) is None


def test_expired_lease_is_claimed_again(db: Database) -> None:
    job_id = _enqueue(db)
    claim(db, "crashed", None, 60)
    _expire_lease(db, job_id)
    again = claim(db, "w2", None, 60)
    assert again is not None
    assert (again.id, again.locked_by, again.attempts) == (job_id, "w2", 2)


def test_expired_lease_on_the_last_attempt_fails_the_job(db: Database) -> None:
    job_id = _enqueue(db, max_attempts=1)
    claim(db, "crashed", None, 60)
    _expire_lease(db, job_id)
    given_up = claim(db, "w2", None, 60)  # returned, so that the worker tells its kind
    assert given_up is not None and (given_up.id, given_up.status) == (job_id, "failed")
    assert claim(db, "w2", None, 60) is None
    failed = _job(db, job_id)
    assert failed.status == "failed"
    assert failed.last_error == "lease expired on attempt 1 of 1"


def test_failure_retries_with_backoff_then_fails(db: Database) -> None:
    job_id = _enqueue(db, max_attempts=2)
    claim(db, "w", None, 60)
    before = utcnow()
    retried = fail(db, job_id, "boom 1")
    after = utcnow()
    assert (retried.status, retried.last_error, retried.locked_by) == ("queued", "boom 1", None)
    assert before + retry_delay(1) <= as_utc(retried.run_at) <= after + retry_delay(1)
    assert claim(db, "w", None, 60) is None  # not due until the backoff has passed

    with db.session() as session:
        session.get_one(Job, job_id).run_at = utcnow() - timedelta(seconds=1)
    second = claim(db, "w", None, 60)
    assert second is not None and second.attempts == 2
    final = fail(db, job_id, "boom 2")
    assert (final.status, final.last_error) == ("failed", "boom 2")
    stored = _job(db, job_id)
    assert (stored.status, stored.attempts) == ("failed", 2)
    assert stored.finished_at is not None
    assert claim(db, "w", None, 60) is None


def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(30) == timedelta(hours=1)


def test_concurrent_workers_process_every_job_exactly_once(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite serialises every claim with BEGIN IMMEDIATE; SKIP LOCKED contention is PostgreSQL's")
    with db.session() as session:
        expected = sorted(enqueue(session, Echo(n), kinds=KINDS) for n in range(200))
    processed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker_id: str) -> None:
        try:
            start.wait()
            while (job := claim(db, worker_id, ["test.echo"], 60)) is not None:
                processed.append(job.id)
                complete(db, job.id)
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(processed) == expected
    with db.reader() as session:
        statuses = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    assert [tuple(row) for row in statuses] == [("done", 200)]


def test_a_singleton_key_holds_one_queued_or_running_job(db: Database) -> None:
    with db.session() as session:
        first = enqueue(session, Echo(1), singleton_key="echo:1", kinds=KINDS)
        assert first is not None
        assert enqueue(session, Echo(2), singleton_key="echo:1", kinds=KINDS) is None
        other_key = enqueue(session, Echo(3), singleton_key="echo:2", kinds=KINDS)
        assert other_key is not None
    assert claim(db, "w", ["test.echo"], 60) is not None  # running still holds the key
    with db.session() as session:
        assert enqueue(session, Echo(4), singleton_key="echo:1", kinds=KINDS) is None
    complete(db, first)
    with db.session() as session:  # done frees the key
        assert enqueue(session, Echo(5), singleton_key="echo:1", kinds=KINDS) is not None
    with db.reader() as session:
        payloads = session.execute(select(Job.payload).where(Job.singleton_key == "echo:1").order_by(Job.id)).scalars().all()
    assert payloads == [{"n": 1}, {"n": 5}]


def test_reschedule_queues_the_same_job_again_with_fresh_attempts(db: Database) -> None:
    job_id = _enqueue(db)
    claim(db, "w", None, 60)
    next_run = utcnow() + timedelta(minutes=1)
    reschedule(db, job_id, next_run, "ValueError: one bad run")
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.locked_by, job.last_error) == ("queued", 0, None, "ValueError: one bad run")
    assert as_utc(job.run_at) == next_run
