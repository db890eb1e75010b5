"""Background jobs kept in the `jobs` table, so they need no broker and survive restarts.

A worker claims a due job under a lease. On PostgreSQL the claim reads with
`FOR UPDATE SKIP LOCKED`, so concurrent workers pass over each other's rows instead of queueing
behind them; on SQLite the write transaction (`BEGIN IMMEDIATE`) already serialises claims. A
job whose lease ran out while `running` belongs to a worker that died, and is claimable again;
handlers must therefore be safe to run twice. Each claim counts as an attempt, so a job that
keeps killing its worker still ends as `failed`.

Jobs are plumbing, not moderation steps: nothing here writes to the audit log.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trustdesk.store.database import Database
from trustdesk.store.models import Job, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 3600


def enqueue(session: Session, kind: str, payload: dict[str, Any], run_at: datetime | None = None) -> Job:
    """Add a job inside the caller's transaction, so it exists only if the caller's change commits."""
    job = Job(kind=kind, payload=payload, run_at=run_at or utcnow())
    session.add(job)
    session.flush()
    return job


def claim(db: Database, worker_id: str, kinds: Collection[str] | None, lease_seconds: float) -> Job | None:
    """Take the oldest due job of the given kinds (any kind for None) for `lease_seconds`."""
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
        while (job := session.execute(query).scalar_one_or_none()) is not None:
            if job.attempts < job.max_attempts:
                job.status, job.locked_by = RUNNING, worker_id
                job.locked_until = now + timedelta(seconds=lease_seconds)
                job.attempts += 1
                return job
            # Its last attempt died with its worker: give up on it and look further.
            _finish(job, FAILED, now)
            job.last_error = f"lease expired on attempt {job.attempts} of {job.max_attempts}"
    return None


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


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 10 s after the first attempt, doubling, capped at an hour."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


def _finish(job: Job, status: str, now: datetime) -> None:
    job.status, job.finished_at = status, now
    job.locked_by, job.locked_until = None, None
