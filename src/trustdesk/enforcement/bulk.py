"""One decision applied to many subjects, by the worker, with a result per item; and its undo.

`start_bulk` checks the request up front (so a typo fails the request, not 10,000 items) and
stores one item per subject as it was given, in the order given: a TrustDesk id, or an app's
external id. A reference that finds no subject the requester may see is an item too, failed
with the reason, and a subject given twice is skipped the second time: the rest go on. The job
works through the pending items in chunks, each chunk in its own transaction: a crash loses at
most one chunk's work, and a re-run (the queue retries, or a lease runs out) carries on with
what is still pending. Each item ends `applied` (with its decision), `skipped` with the reason
(the decision would change nothing), or `failed` with the error; any other error fails the
chunk, and so the job, for a retry.

`start_undo` withdraws a finished operation, with a reason: it is an operation of its own (at
most one per operation, which the database keeps to) whose items are the applied items of the
original, run the same way but last item first. Each item withdraws what its decision applied
(see `decisions.undo_decision`), and ends `undone`, `skipped` (nothing left to withdraw, or the
subject changed again since) or `failed`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, restricted_subjects
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.enforcement.decisions import (
    DecisionRequest,
    NothingToChange,
    check_request,
    decide_subject,
    lock_for_decisions,
    undo_decision,
)
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.store.database import Database
from trustdesk.store.models import App, BulkItem, BulkOperation, StaffUser, Subject, utcnow

BULK_DECISION = "bulk_decision"
MAX_SUBJECTS = 10_000
MAX_REASON = 2_000
CHUNK = 200
_IN_CHUNK = 1_000  # references per look-up, well under every driver's parameter limit
DECISION, UNDO = "decision", "undo"  # kinds of operation
QUEUED, RUNNING, DONE = "queued", "running", "done"  # an operation's status
PENDING, APPLIED, UNDONE, SKIPPED, FAILED = "pending", "applied", "undone", "skipped", "failed"  # an item's
ITEM_STATUSES = (PENDING, APPLIED, UNDONE, SKIPPED, FAILED)
_EXTERNAL_ID = re.compile(r"[\x21-\x7e]{1,200}")  # as the intake takes them


@dataclass(frozen=True)
class ExternalRef:
    """A subject named as the host platform knows it: its app and its external id."""

    app: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.app}:{self.external_id}"


SubjectRef = int | ExternalRef


@dataclass(frozen=True)
class BulkDecision:
    """The job that works through an operation's pending items."""

    operation_id: int


def start_bulk(
    session: Session, actor_staff_id: int, actor: Actor, subjects: Sequence[SubjectRef], request: DecisionRequest
) -> BulkOperation:
    """Check the request and store an item per reference; the worker decides the pending ones."""
    if not 1 <= len(subjects) <= MAX_SUBJECTS:
        raise FieldError("subject_ids", f"give 1 to {MAX_SUBJECTS} subjects, not {len(subjects)}")
    check_request(session, request)
    requester = Reviewer.of(session.get_one(StaffUser, actor_staff_id))
    resolved = _resolve(session, requester, subjects)
    items, first_seen = [], {}
    for position, (ref, subject_id) in enumerate(zip(subjects, resolved, strict=True)):
        item = {"position": position, "reference": str(ref), "subject_id": subject_id, "status": PENDING, "detail": None}
        if subject_id is None:
            item |= {"status": FAILED, "detail": f"no subject {_quoted(ref)}"}
        elif subject_id in first_seen:
            item |= {"status": SKIPPED, "detail": f"the same subject as item {first_seen[subject_id] + 1}"}
        else:
            first_seen[subject_id] = position
        items.append(item)
    op = _operation(session, actor_staff_id, actor, DECISION, items, {"decision": request.to_json()})
    record(
        session, actor=actor, verb="bulk.started", object_type="bulk_operation", object_id=op.id,
        after={"total": op.total, "request": request.to_json(), "failed": op.failed, "skipped": op.skipped},
    )
    return op


def start_undo(session: Session, actor_staff_id: int, actor: Actor, operation_id: int, reason: str) -> BulkOperation:
    """Undo a finished bulk decision: an operation of its own, over the items it applied."""
    original = session.get(BulkOperation, operation_id, with_for_update=True)  # one undo at a time
    if original is None:
        raise NotFound("operation_id", f"no bulk operation {operation_id}")
    if original.kind != DECISION:
        raise FieldError("operation_id", "an undo is not undone; start a new bulk decision instead")
    if original.status != DONE:
        raise Conflict("operation_id", "the operation is still running; undo it once it is done")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise FieldError("reason", f"say why it is undone (1 to {MAX_REASON} characters): it goes into the audit log")
    earlier = session.execute(select(BulkOperation.id).where(BulkOperation.undo_of == operation_id)).scalar_one_or_none()
    if earlier is not None:
        raise Conflict("operation_id", f"already undone by bulk operation {earlier}")
    applied = session.execute(
        select(BulkItem)
        .where(BulkItem.operation_id == operation_id, BulkItem.status == APPLIED, BulkItem.decision_id.is_not(None))
        .order_by(BulkItem.position)
    ).scalars().all()
    if not applied:
        raise FieldError("operation_id", "nothing was applied, so there is nothing to undo")
    items = [
        {"position": i.position, "reference": i.reference, "subject_id": i.subject_id, "decision_id": i.decision_id,
         "status": PENDING, "detail": None}
        for i in applied
    ]
    op = _operation(session, actor_staff_id, actor, UNDO, items, {"reason": reason}, undo_of=operation_id)
    record(
        session, actor=actor, verb="bulk.undo_started", object_type="bulk_operation", object_id=op.id,
        after={"undo_of": operation_id, "total": op.total, "reason": reason},
    )
    return op


def _operation(
    session: Session, staff_id: int, actor: Actor, kind: str, items: list[dict[str, Any]], request: dict[str, Any],
    undo_of: int | None = None,
) -> BulkOperation:
    op = BulkOperation(
        kind=kind, undo_of=undo_of, requested_by=staff_id, total=len(items), status=QUEUED,
        failed=sum(i["status"] == FAILED for i in items), skipped=sum(i["status"] == SKIPPED for i in items),
        request=request | {"actor": {"type": actor.type, "id": actor.id}},
    )
    session.add(op)
    session.flush()
    session.execute(insert(BulkItem), [i | {"operation_id": op.id} for i in items])
    enqueue(session, BulkDecision(op.id))
    return op


def _resolve(session: Session, requester: Reviewer, refs: Sequence[SubjectRef]) -> list[int | None]:
    """The subject id each reference names, or None where it names none the requester may see."""
    ids = [r for r in refs if isinstance(r, int)]
    if any(isinstance(r, bool) or not isinstance(r, (int, ExternalRef)) for r in refs):
        raise FieldError("subject_ids", "subject ids are whole numbers")
    bad = [r.external_id for r in refs if isinstance(r, ExternalRef) and not _EXTERNAL_ID.fullmatch(r.external_id)]
    if bad:
        raise FieldError("external_ids", f"not an external id (1–200 printable characters, no spaces): {bad[0][:40]!r}")
    found: dict[SubjectRef, int] = {}
    for chunk in _chunks(sorted(set(ids))):
        found.update((i, i) for i in session.execute(select(Subject.id).where(Subject.id.in_(chunk))).scalars())
    by_app: dict[str, set[str]] = {}
    for ref in refs:
        if isinstance(ref, ExternalRef):
            by_app.setdefault(ref.app, set()).add(ref.external_id)
    for slug, external_ids in by_app.items():
        app_id = session.execute(select(App.id).where(App.slug == slug)).scalar_one_or_none()
        if app_id is None:
            raise FieldError("app", f"no app {slug!r}")
        for chunk in _chunks(sorted(external_ids)):
            rows = session.execute(select(Subject.id, Subject.external_id).where(Subject.app_id == app_id, Subject.external_id.in_(chunk)))
            found.update((ExternalRef(slug, ext), sid) for sid, ext in rows)
    hidden: set[int] = set()
    for chunk in _chunks(sorted(set(found.values()))):
        hidden |= restricted_subjects(session, requester, chunk)
    return [None if found.get(r) in hidden else found.get(r) for r in refs]


def _quoted(ref: SubjectRef) -> str:
    return str(ref) if isinstance(ref, int) else f"{ref.external_id!r} in app {ref.app}"


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


# --- the job ----------------------------------------------------------------------------------


def gave_up_bulk(ctx: WorkerContext, job: BulkDecision) -> None:
    """The job failed on every attempt: the items it did not reach fail with the reason and the
    operation ends, rather than show `running` for ever."""
    with ctx.db.session() as session:
        op = session.get(BulkOperation, job.operation_id, with_for_update=True)
        if op is None or op.status == DONE:
            return
        left = session.execute(select(BulkItem).where(BulkItem.operation_id == op.id, BulkItem.status == PENDING)).scalars().all()
        for item in left:
            item.status, item.detail = FAILED, "not reached: the operation's job failed on every attempt (see the worker's log)"
        op.failed += len(left)
        _finish(session, op, Actor(**op.request["actor"]))


@job_kind(BULK_DECISION, BulkDecision, given_up=gave_up_bulk)
def handle_bulk_decision(ctx: WorkerContext, job: BulkDecision) -> None:
    """Job handler: work through the operation's pending items, one chunk per transaction."""
    while run_chunk(ctx.db, job.operation_id):
        pass


def run_chunk(db: Database, operation_id: int) -> bool:
    """Settle up to CHUNK pending items; False once none are left and the operation is done."""
    with db.session() as session:
        op = session.get(BulkOperation, operation_id, with_for_update=True)  # one worker at a time
        if op is None:
            raise LookupError(f"bulk operation {operation_id} no longer exists")
        if op.status == DONE:
            return False
        # An undo goes backwards, last applied first, so that actions stacked on one account
        # (a suspension, then a ban) unwind to where they started.
        order = BulkItem.position if op.kind == DECISION else BulkItem.position.desc()
        items = session.execute(
            select(BulkItem)
            .where(BulkItem.operation_id == operation_id, BulkItem.status == PENDING)
            .order_by(order)
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
        # Read now, not when the operation started: a role taken away stops the rest.
        requester = Reviewer.of(session.get_one(StaffUser, op.requested_by))
        if op.kind == DECISION:
            lock_for_decisions(session, [i.subject_id for i in items if i.subject_id is not None])
        settle = _decide if op.kind == DECISION else _undo
        for item in items:
            try:
                with session.begin_nested():  # a refusal takes back whatever the item wrote: record it and go on
                    item.status, item.detail = settle(session, actor, requester, op, item)
            except FieldError as exc:
                item.status, item.detail = FAILED, str(exc)
            op.succeeded += item.status in (APPLIED, UNDONE)
            op.skipped += item.status == SKIPPED
            op.failed += item.status == FAILED
        return True


def _decide(session: Session, actor: Actor, requester: Reviewer, op: BulkOperation, item: BulkItem) -> tuple[str, str | None]:
    assert item.subject_id is not None  # items without a subject were failed when stored
    request = DecisionRequest.from_json(op.request["decision"])
    try:
        decision = decide_subject(
            session, actor, item.subject_id, request, bulk_operation_id=op.id, reviewer=requester, unless_unchanged=True
        )
    except NothingToChange as exc:
        return SKIPPED, str(exc)
    item.decision_id = decision.id
    return APPLIED, None


def _undo(session: Session, actor: Actor, requester: Reviewer, op: BulkOperation, item: BulkItem) -> tuple[str, str | None]:
    assert item.decision_id is not None  # only applied items, which made a decision, are undone
    result = undo_decision(
        session, actor, item.decision_id, reviewer=requester, reason=op.request["reason"], bulk_operation_id=op.id
    )
    withdrawn = len(result.undone) - len(result.skipped)
    if not result.undone:
        return SKIPPED, "nothing left to undo: the decision applied no action, or it was undone already"
    if not withdrawn:
        return SKIPPED, "changed again since: left as it is"
    kept = f"; {len(result.skipped)} left as changed since" if result.skipped else ""
    return UNDONE, f"withdrew {withdrawn} action{'s' if withdrawn != 1 else ''}{kept}"


def _finish(session: Session, op: BulkOperation, actor: Actor) -> None:
    before = {"status": op.status}
    op.status, op.finished_at = DONE, utcnow()
    record(
        session, actor=actor, verb="bulk.finished", object_type="bulk_operation", object_id=op.id,
        before=before, after={"status": op.status, "succeeded": op.succeeded, "skipped": op.skipped, "failed": op.failed},
    )


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkStatus:
    id: int
    kind: str
    status: str
    total: int
    succeeded: int  # applied (an undo: undone)
    skipped: int
    failed: int
    undo_of: int | None
    undone_by: int | None  # the undo operation, once there is one
    request: dict[str, Any]

    @property
    def pending(self) -> int:
        return self.total - self.succeeded - self.skipped - self.failed


def bulk_status(session: Session, op_id: int) -> BulkStatus:
    op = session.get(BulkOperation, op_id)
    if op is None:
        raise NotFound("operation_id", f"no bulk operation {op_id}")
    undone_by = session.execute(select(BulkOperation.id).where(BulkOperation.undo_of == op_id)).scalar_one_or_none()
    return BulkStatus(
        op.id, op.kind, op.status, op.total, op.succeeded, op.skipped, op.failed, op.undo_of, undone_by, op.request,
    )


def bulk_items(session: Session, op_id: int, *, status: str | None = None, after: int = -1, limit: int = 100) -> list[BulkItem]:
    """The operation's items in the order given, from position `after` on (keyset paging)."""
    if status is not None and status not in ITEM_STATUSES:
        raise FieldError("status", f"one of {', '.join(ITEM_STATUSES)}")
    query = select(BulkItem).where(BulkItem.operation_id == op_id, BulkItem.position > after)
    if status is not None:
        query = query.where(BulkItem.status == status)
    return list(session.execute(query.order_by(BulkItem.position).limit(limit)).scalars())


@dataclass(frozen=True)
class ItemView:
    """An item as a given viewer may see it: one about a subject hidden from them by need-to-know
    shows its outcome only."""

    position: int
    reference: str | None
    subject_id: int | None
    status: str
    detail: str | None
    decision_id: int | None


def item_views(session: Session, viewer: Reviewer, items: Sequence[BulkItem]) -> list[ItemView]:
    hidden = restricted_subjects(session, viewer, [i.subject_id for i in items if i.subject_id is not None])
    return [
        ItemView(i.position, None, None, i.status, None, None) if i.subject_id in hidden
        else ItemView(i.position, i.reference, i.subject_id, i.status, i.detail, i.decision_id)
        for i in items
    ]
