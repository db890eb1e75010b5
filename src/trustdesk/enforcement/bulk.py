"""One decision applied to many subjects, by the worker, with a result per subject.

`start_bulk` checks the request and the list up front (so a typo fails the request, not
10,000 items), stores one pending `BulkItem` per subject and enqueues a job. The job works
through the pending items in chunks, each chunk in its own transaction: a crash loses at
most one chunk's work, and a re-run (the queue retries, or a lease runs out) carries on
with what is still pending. An item whose decision is refused is marked `failed` with the
error and the rest go on; any other error fails the chunk, and so the job, for a retry.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.enforcement.decisions import (
    DecisionRequest,
    check_request,
    decide_subject,
)
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.store.database import Database
from trustdesk.store.models import BulkItem, BulkOperation, StaffUser, utcnow

BULK_DECISION = "bulk_decision"
MAX_SUBJECTS = 10_000
CHUNK = 200
QUEUED, RUNNING, DONE = "queued", "running", "done"
PENDING, FAILED = "pending", "failed"
FAILURES_SHOWN = 100


@dataclass(frozen=True)
class BulkDecision:
    """The job that works through an operation's pending items."""

    operation_id: int


def start_bulk(
    session: Session, actor_staff_id: int, actor: Actor, subject_ids: list[int], request: DecisionRequest
) -> BulkOperation:
    ids = list(dict.fromkeys(subject_ids))  # once each, in the order given
    if not 1 <= len(ids) <= MAX_SUBJECTS:
        raise FieldError("subject_ids", f"give 1 to {MAX_SUBJECTS} subjects, not {len(ids)}")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise FieldError("subject_ids", "subject ids are whole numbers")
    check_request(session, request)
    op = BulkOperation(
        requested_by=actor_staff_id, total=len(ids), status=QUEUED,
        request={"decision": request.to_json(), "actor": {"type": actor.type, "id": actor.id}},
    )
    session.add(op)
    session.flush()
    session.execute(insert(BulkItem), [{"operation_id": op.id, "subject_id": i, "status": PENDING} for i in ids])
    enqueue(session, BulkDecision(op.id))
    record(
        session, actor=actor, verb="bulk.started", object_type="bulk_operation", object_id=op.id,
        after={"total": op.total, "request": op.request["decision"]},
    )
    return op


@job_kind(BULK_DECISION, BulkDecision)
def handle_bulk_decision(ctx: WorkerContext, job: BulkDecision) -> None:
    """Job handler: decide the operation's pending items, one chunk per transaction."""
    while run_chunk(ctx.db, job.operation_id):
        pass


def run_chunk(db: Database, operation_id: int) -> bool:
    """Decide up to CHUNK pending items; False once none are left and the operation is done."""
    with db.session() as session:
        op = session.get(BulkOperation, operation_id, with_for_update=True)  # one worker at a time
        if op is None:
            raise LookupError(f"bulk operation {operation_id} no longer exists")
        if op.status == DONE:
            return False
        items = session.execute(
            select(BulkItem)
            .where(BulkItem.operation_id == operation_id, BulkItem.status == PENDING)
            .order_by(BulkItem.subject_id)
            .limit(CHUNK)
        ).scalars().all()
        actor = Actor(**op.request["actor"])
        if not items:
            _finish(session, op, actor)
            return False
        if op.status == QUEUED:
            op.status = RUNNING
            record(
                session, actor=actor, verb="bulk.running", object_type="bulk_operation", object_id=op.id,
                before={"status": QUEUED}, after={"status": RUNNING},
            )
        request = DecisionRequest.from_json(op.request["decision"])
        # Read now, not when the operation started: a role taken away stops the rest.
        requester = Reviewer.of(session.get_one(StaffUser, op.requested_by))
        for item in items:
            try:
                decide_subject(session, actor, item.subject_id, request, bulk_operation_id=op.id, reviewer=requester)
            except FieldError as exc:  # refused before anything was written: record it and go on
                item.status, item.error = FAILED, str(exc)
                op.failed += 1
            else:
                item.status = DONE
                op.succeeded += 1
        return True


def _finish(session: Session, op: BulkOperation, actor: Actor) -> None:
    before = {"status": op.status}
    op.status, op.finished_at = DONE, utcnow()
    record(
        session, actor=actor, verb="bulk.finished", object_type="bulk_operation", object_id=op.id,
        before=before, after={"status": op.status, "succeeded": op.succeeded, "failed": op.failed},
    )


@dataclass(frozen=True)
class BulkStatus:
    id: int
    status: str
    total: int
    succeeded: int
    failed: int
    failures: list[tuple[int, str]]  # (subject id, error), the first FAILURES_SHOWN

    @property
    def pending(self) -> int:
        return self.total - self.succeeded - self.failed


def bulk_status(session: Session, op_id: int) -> BulkStatus:
    op = session.get(BulkOperation, op_id)
    if op is None:
        raise NotFound("operation_id", f"no bulk operation {op_id}")
    failures = session.execute(
        select(BulkItem.subject_id, BulkItem.error)
        .where(BulkItem.operation_id == op_id, BulkItem.status == FAILED)
        .order_by(BulkItem.subject_id)
        .limit(FAILURES_SHOWN)
    ).all()
    return BulkStatus(op.id, op.status, op.total, op.succeeded, op.failed, [(r.subject_id, r.error or "") for r in failures])
