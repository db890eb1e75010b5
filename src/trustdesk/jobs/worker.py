"""The worker loop: claim a job, run its kind's handler, record the outcome.

Every kind of background work is a small handler behind one interface,
`handler(context, payload) -> None`, listed in `HANDLERS`. A handler that raises fails the job,
which is retried with backoff until its attempts run out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trustdesk.cases import sla
from trustdesk.config import Settings
from trustdesk.enforcement import bulk
from trustdesk.ingest import media_fetch
from trustdesk.jobs.queue import QUEUED, claim, complete, fail
from trustdesk.store.blobs import BlobStore, FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import Job

logger = logging.getLogger(__name__)

# Long enough for the slowest handler (a media fetch is bounded well below this); a worker that
# dies holding a job delays that job by at most this long.
LEASE_SECONDS = 300


@dataclass(frozen=True)
class WorkerContext:
    """What a handler may use; handlers get everything through here, never from globals."""

    db: Database
    settings: Settings
    blobs: BlobStore


Handler = Callable[[WorkerContext, dict[str, Any]], None]

# To add a job kind: write `def handle_x(ctx: WorkerContext, payload: dict[str, Any]) -> None` in
# the module that owns the work, export its kind name as a constant there, and list it here.
# Enqueue with `trustdesk.jobs.queue.enqueue(session, KIND, payload)`. Handlers may run twice
# (a lease can expire), so make them idempotent; raise to fail the job.
HANDLERS: dict[str, Handler] = {
    media_fetch.FETCH_MEDIA: media_fetch.handle_fetch_media,
    sla.SLA_SWEEP: sla.handle_sla_sweep,
    bulk.BULK_DECISION: bulk.handle_bulk_decision,
}


class UnknownJobKind(LookupError):
    pass


def run_worker(
    db: Database,
    settings: Settings,
    *,
    worker_id: str,
    once: bool = False,
    poll_seconds: float = 1.0,
    stop_event: threading.Event | None = None,
) -> int:
    """Process jobs until `stop_event` is set, or with `once` until none is due; return how many ran."""
    context = WorkerContext(db, settings, FileBlobStore(settings.blob_dir))
    with db.session() as session:
        sla.ensure_scheduled(session)
    stop = stop_event or threading.Event()
    processed = 0
    while not stop.is_set():
        job = claim(db, worker_id, None, LEASE_SECONDS)
        if job is None:
            if once:
                break
            stop.wait(poll_seconds)
            continue
        _run(context, job, worker_id)
        processed += 1
    return processed


def _run(context: WorkerContext, job: Job, worker_id: str) -> None:
    fields = {"job_id": job.id, "job_kind": job.kind, "attempt": job.attempts, "worker_id": worker_id}
    started = time.monotonic()
    try:
        handler = HANDLERS.get(job.kind)
        if handler is None:
            raise UnknownJobKind(f"no handler for job kind {job.kind!r}; known kinds: {', '.join(sorted(HANDLERS))}")
        handler(context, job.payload)
    except Exception as exc:  # a failing job is recorded and retried; it must not stop the worker
        failed = fail(context.db, job.id, f"{type(exc).__name__}: {exc}")
        retry_at = failed.run_at.isoformat() if failed.status == QUEUED else None
        logger.warning(
            "job failed", exc_info=True, extra={**fields, "status": failed.status, "retry_at": retry_at, "error": str(exc)}
        )
        return
    complete(context.db, job.id)
    logger.info("job done", extra={**fields, "duration_ms": round((time.monotonic() - started) * 1000)})
