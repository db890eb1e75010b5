"""Background jobs kept in the `jobs` table, so they need no broker and survive restarts.

A worker claims a due job under a lease. On PostgreSQL the claim reads with
`FOR UPDATE SKIP LOCKED`, so concurrent workers pass over each other's rows instead of queueing
behind them; on SQLite the write transaction (`BEGIN IMMEDIATE`) already serialises claims. A
job whose lease ran out while `running` belongs to a worker that died, and is claimable again;
handlers must therefore be safe to run twice. Each claim counts as an attempt, so a job that
keeps killing its worker still ends as `failed`.

A job with a `singleton_key` exists at most once while queued or running: a partial unique
index says so, and `enqueue` inserts with `ON CONFLICT DO NOTHING`, so workers starting together
cannot schedule a recurring job twice. A recurring job is the same row for ever: after each
run, `reschedule` queues it again instead of finishing it.

Jobs are plumbing, not moderation steps: nothing here writes to the audit log.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trustdesk.jobs.registry import KINDS, Registry
from trustdesk.store.database import Database
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Job, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 3600


def enqueue(
    session: Session, payload: object, *, run_at: datetime | None = None, singleton_key: str | None = None,
    kinds: Registry = KINDS,
) -> int | None:
    """Add a job of the kind `payload` belongs to, inside the caller's transaction, so it exists
    only if the caller's change commits. With a `singleton_key` that another queued or running
    job holds, nothing is added and None is returned; otherwise the new job's id."""
    kind = kinds.of(payload)
    row = {"kind": kind.name, "payload": kind.encode(payload), "run_at": run_at or utcnow(), "singleton_key": singleton_key}
    statement = conflict_insert(session, Job).values(row)
    if singleton_key is not None:
        statement = statement.on_conflict_do_nothing()
    return session.execute(statement.returning(Job.id)).scalar_one_or_none()


def claim(db: Database, worker_id: str, kinds: Collection[str] | None, lease_seconds: float) -> Job | None:
    """Take the oldest due job of the given kinds (any kind for None) for `lease_seconds`. A job
    whose worker died on its last attempt is given up instead and returned `failed`, so that the
    worker tells its kind."""
    now = utcnow()
    due = or_(
        and_(Job.status == QUEUED, Job.run_at <= now),
        and_(Job.status == RUNNING, Job.locked_until < now),
    )
    query = select(Job).where(due).order_by(Job.run_at, Job.id).limit(1)
    if kinds is not None:
        query = query.where(Job.kind.in_(kinds))
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    with db.session() as session:
        job = session.execute(query).scalar_one_or_none()
        if job is None:
            return None
        if job.attempts < job.max_attempts:
            job.status, job.locked_by = RUNNING, worker_id
            job.locked_until = now + timedelta(seconds=lease_seconds)
            job.attempts += 1
        else:  # its last attempt died with its worker
            _finish(job, FAILED, now)
            job.last_error = f"lease expired on attempt {job.attempts} of {job.max_attempts}"
        return job


def complete(db: Database, job_id: int) -> None:
    with db.session() as session:
        _finish(session.get_one(Job, job_id), DONE, utcnow())


def fail(db: Database, job_id: int, error: str) -> Job:
    """Record the error and queue a retry after a growing delay, or give up after the last attempt."""
    now = utcnow()
    with db.session() as session:
        job = session.get_one(Job, job_id)
        job.last_error = error
        if job.attempts >= job.max_attempts:
            _finish(job, FAILED, now)
        else:
            job.status, job.locked_by, job.locked_until = QUEUED, None, None
            job.run_at = now + retry_delay(job.attempts)
    return job


def reschedule(db: Database, job_id: int, run_at: datetime, error: str | None = None) -> None:
    """Queue a recurring job's next run, with a fresh count of attempts and the error of this one."""
    with db.session() as session:
        job = session.get_one(Job, job_id)
        job.status, job.run_at, job.attempts, job.last_error = QUEUED, run_at, 0, error
        job.locked_by, job.locked_until, job.finished_at = None, None, utcnow()


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 10 s after the first attempt, doubling, capped at an hour."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


def _finish(job: Job, status: str, now: datetime) -> None:
    job.status, job.finished_at = status, now
    job.locked_by, job.locked_until = None, None
