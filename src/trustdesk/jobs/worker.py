"""The worker loop: claim a job, run its kind's handler, record the outcome.

Job kinds come from the registry (`trustdesk.jobs.registry`), which loads the modules that
define them; this module imports no feature. A worker claims only kinds it knows, so during a
rolling upgrade a job of a newer kind waits for a worker that has it. A handler that raises
fails the job, which is retried with backoff until its attempts run out (then its kind's
`given_up` handler is told); a recurring job is queued again for its next run either way, so one
bad run never ends it.
"""

from __future__ import annotations

import logging
import threading
import time

from trustdesk.config import Settings
from trustdesk.jobs.queue import FAILED, QUEUED, claim, complete, enqueue, fail, reschedule
from trustdesk.jobs.registry import KINDS, JobKind, Registry, WorkerContext
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import Job, utcnow

logger = logging.getLogger(__name__)

# Long enough for the slowest handler (a media fetch is bounded well below this); a worker that
# dies holding a job delays that job by at most this long.
LEASE_SECONDS = 300


def run_worker(
    db: Database,
    settings: Settings,
    *,
    worker_id: str,
    once: bool = False,
    poll_seconds: float = 1.0,
    stop_event: threading.Event | None = None,
    kinds: Registry = KINDS,
) -> int:
    """Process jobs until `stop_event` is set, or with `once` until none is due; return how many ran."""
    kinds.load()
    context = WorkerContext(db, settings, FileBlobStore(settings.blob_dir))
    schedule_recurring(db, kinds)
    stop = stop_event or threading.Event()
    processed = 0
    while not stop.is_set():
        job = claim(db, worker_id, kinds.names, LEASE_SECONDS)
        if job is None:
            if once:
                break
            stop.wait(poll_seconds)
            continue
        kind = kinds.named(job.kind)
        assert kind is not None, "claimed a kind it does not know"
        if job.status == FAILED and job.singleton_key in kind.singleton_keys:
            # A recurring kind's run whose every attempt died with its worker: the next run comes
            # all the same (suspensions must still lift, statements still go out).
            assert kind.every is not None
            reschedule(db, job.id, utcnow() + kind.every, job.last_error)
            logger.warning("recurring job died with its worker; its next run is scheduled",
                           extra={"job_id": job.id, "job_kind": job.kind, "error": job.last_error})
            continue
        if job.status == FAILED:
            _give_up(context, kind, job)
            continue
        _run(context, kind, job, worker_id)
        processed += 1
    return processed


def schedule_recurring(db: Database, kinds: Registry) -> None:
    """Queue the first run of each recurring kind, unless it is already queued or running."""
    with db.session() as session:
        for kind in kinds.recurring:
            assert kind.every is not None
            for key in kind.singleton_keys:
                enqueue(session, kind.payload_type(), run_at=utcnow() + kind.every, singleton_key=key, kinds=kinds)


def _run(context: WorkerContext, kind: JobKind[object], job: Job, worker_id: str) -> None:
    fields = {"job_id": job.id, "job_kind": job.kind, "attempt": job.attempts, "worker_id": worker_id}
    started = time.monotonic()
    # A scheduled run of a recurring kind; any other job of that kind runs once.
    every = kind.every if job.singleton_key in kind.singleton_keys else None
    try:
        kind.run(context, job.payload)
    except Exception as exc:  # a failing job is recorded and retried; it must not stop the worker
        error = f"{type(exc).__name__}: {exc}"
        if every is not None:
            retry_at = utcnow() + every
            reschedule(context.db, job.id, retry_at, error)
            status = QUEUED
        else:
            failed = fail(context.db, job.id, error)
            retry_at, status = failed.run_at, failed.status
        logger.warning(
            "job failed", exc_info=True,
            extra={**fields, "status": status, "retry_at": retry_at.isoformat() if status == QUEUED else None, "error": str(exc)},
        )
        if status == FAILED:
            _give_up(context, kind, job)
        return
    if every is not None:
        reschedule(context.db, job.id, utcnow() + every)
    else:
        complete(context.db, job.id)
    # Recurring runs come every few seconds: a line each would bury the rest of the log.
    logger.log(logging.DEBUG if every else logging.INFO, "job done", extra={**fields, "duration_ms": round((time.monotonic() - started) * 1000)})


def _give_up(context: WorkerContext, kind: JobKind[object], job: Job) -> None:
    """The job failed for good: its kind's `given_up` handler puts what waited on it before staff."""
    try:
        kind.give_up(context, job.payload)
    except Exception:  # like a failing job, it is logged and must not stop the worker
        logger.exception("giving up a job failed", extra={"job_id": job.id, "job_kind": job.kind})
