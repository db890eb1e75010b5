"""Bulk decisions: checked up front, subjects by id or external id, run by the job handler in
chunks, a result per item; and their undo, once, with a reason, item by item."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.concurrency import together
from tests.enforcement.conftest import World, account, item
from tests.jobs.last_attempt import every_attempt_died
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.enforcement import bulk
from trustdesk.enforcement.bulk import (
    BULK_DECISION,
    BulkDecision,
    ExternalRef,
    SubjectRef,
    bulk_items,
    bulk_status,
    handle_bulk_decision,
    start_bulk,
    start_undo,
)
from trustdesk.enforcement.decisions import DecisionRequest
from trustdesk.jobs.registry import WorkerContext
from trustdesk.jobs.worker import run_worker
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import AuditEvent, BulkOperation, Case, Decision, EnforcementAction, Job, Queue, Report, Strike, Subject

SENIOR = Actor("staff", "alice")
TAKEDOWN = DecisionRequest("SPAM", verdict="violation", actions=["remove", "warn"], rationale="spam wave")


def _context(world: World, settings: Settings) -> WorkerContext:
    return WorkerContext(world.db, settings, FileBlobStore(settings.blob_dir))


def _start(world: World, subjects: list[SubjectRef], request: DecisionRequest = TAKEDOWN) -> int:
    with world.db.session() as s:
        return start_bulk(s, world.alice, SENIOR, subjects, request).id


def _run(world: World, settings: Settings, op_id: int) -> bulk.BulkStatus:
    handle_bulk_decision(_context(world, settings), BulkDecision(op_id))
    with world.db.reader() as s:
        return bulk_status(s, op_id)


def _undo(world: World, op_id: int, reason: str = "wrong wave: these were real shops") -> int:
    with world.db.session() as s:
        return start_undo(s, world.bob, Actor("staff", "bob"), op_id, reason).id


def _results(world: World, op_id: int) -> list[tuple[str, int | None, str, str | None]]:
    with world.db.reader() as s:
        return [(i.reference, i.subject_id, i.status, i.detail) for i in bulk_items(s, op_id, limit=20_000)]


def _spam_wave(world: World, listings: int, orphans: int) -> tuple[list[int], list[int]]:
    """A spammer's listings, plus posts without an owning account (a warning cannot land)."""
    ids = world.add_subjects(
        account("spammer"),
        *[item(f"lst-{n}", "listing", owner="spammer") for n in range(listings)],
        *[item(f"post-{n}", "post") for n in range(orphans)],
    )
    return [ids[f"lst-{n}"] for n in range(listings)], [ids[f"post-{n}"] for n in range(orphans)]


def test_bulk_decision_gives_a_result_per_subject(world: World, settings: Settings) -> None:
    listings, orphans = _spam_wave(world, 470, 20)
    unknown = [10_000_000 + n for n in range(10)]
    reports = world.file({"external_id": "r1", "subject_external_id": "lst-3", "policy_code": "SPAM", "reporter_type": "support"})
    case_id = world.open_case(listings[3], reports, claimed_by=world.bob, policy_code="SPAM")
    op_id = _start(world, listings + orphans + unknown)
    with world.db.reader() as s:
        job = s.execute(select(Job)).scalar_one()
        assert (job.kind, job.payload) == (BULK_DECISION, {"operation_id": op_id})
        assert (bulk_status(s, op_id).pending, bulk_status(s, op_id).failed) == (490, 10)  # unknown ids fail at once

    status = _run(world, settings, op_id)

    with world.db.reader() as s:
        decided = s.execute(select(Decision.subject_id).where(Decision.bulk_operation_id == op_id)).scalars().all()
        report_status = s.get_one(Report, reports[0]).status
        assert verify_chain(s).ok
    assert (status.status, status.total, status.succeeded, status.failed, status.pending) == ("done", 500, 470, 30, 0)
    results = _results(world, op_id)
    assert [r[0] for r in results] == [str(i) for i in listings + orphans + unknown]  # in the order given
    assert {r[2] for r in results[:470]} == {"applied"}
    assert results[470] == (str(orphans[0]), orphans[0], "failed", f"subject_id: subject {orphans[0]} has no owning account")
    assert results[490:] == [(str(i), None, "failed", f"no subject {i}") for i in unknown]
    assert sorted(decided) == sorted(listings)  # refused items left no decision behind
    assert set(world.visibility(*listings[:5])) == {"removed"} and set(world.visibility(*orphans[:5])) == {"visible"}
    assert world.subject(listings[3]).visibility == "removed" and report_status == "actioned"
    with world.db.reader() as s:
        assert s.get_one(Case, case_id).status == "decided"


def test_an_operation_whose_job_died_on_every_attempt_ends_with_the_items_left_failed(world: World, settings: Settings) -> None:
    listings, _orphans = _spam_wave(world, 3, 0)
    op_id = _start(world, listings)
    every_attempt_died(world.db, BULK_DECISION)
    run_worker(world.db, settings, worker_id="w", once=True)
    with world.db.reader() as s:
        status = bulk_status(s, op_id)
    assert (status.status, status.succeeded, status.failed, status.pending) == ("done", 0, 3, 0)
    assert {r[3] for r in _results(world, op_id)} == {"not reached: the operation's job failed on every attempt (see the worker's log)"}


def test_subjects_by_external_id_with_unknown_and_repeated_ones_reported_per_item(world: World, settings: Settings) -> None:
    listings, _ = _spam_wave(world, 3, 0)
    market = "market"
    given: list[SubjectRef] = [
        ExternalRef(market, "lst-0"), ExternalRef(market, "nope"), listings[1], ExternalRef(market, "lst-1"), ExternalRef(market, "lst-2"),
    ]
    with world.db.session() as s:  # lst-2 is already down and has no open case: nothing to change
        s.get_one(Subject, listings[2]).visibility = "removed"
    removal = DecisionRequest("SPAM", verdict="violation", actions=["remove"], rationale="spam")
    op_id = _start(world, given, removal)
    status = _run(world, settings, op_id)
    assert (status.succeeded, status.skipped, status.failed) == (2, 2, 1)
    assert _results(world, op_id) == [
        ("market:lst-0", listings[0], "applied", None),
        ("market:nope", None, "failed", "no subject 'nope' in app market"),
        (str(listings[1]), listings[1], "applied", None),
        ("market:lst-1", listings[1], "skipped", "the same subject as item 3"),
        ("market:lst-2", listings[2], "skipped", "nothing to change: no open case, and it is already removed"),
    ]
    with world.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Decision)).scalar_one() == 2


def test_a_subject_hidden_from_the_requester_is_reported_like_an_unknown_one(world: World, settings: Settings) -> None:
    ids = world.add_subjects(item("photo-cs", "photo"), item("post-ok", "post"))
    reports = world.file({"external_id": "r-cs", "subject_external_id": "photo-cs", "policy_code": "CSAM", "reporter_type": "anonymous"})
    case_id = world.open_case(ids["photo-cs"], reports, policy_code="CSAM")
    with world.db.session() as s:
        restricted = Queue(name="Child safety", required_roles=["child-safety"])
        s.add(restricted)
        s.flush()
        s.get_one(Case, case_id).queue_id = restricted.id
    op_id = _start(world, [ExternalRef("market", "photo-cs"), ExternalRef("market", "post-ok")],
                   DecisionRequest("SPAM", verdict="no_violation"))
    assert _results(world, op_id)[0] == ("market:photo-cs", None, "failed", "no subject 'photo-cs' in app market")


def test_a_rerun_carries_on_with_what_is_pending(world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    listings, _ = _spam_wave(world, 300, 0)
    op_id = _start(world, listings)
    calls = {"n": 0}
    real = bulk.decide_subject

    def crash_in_second_chunk(*args: Any, **kwargs: Any) -> Decision:
        calls["n"] += 1
        if calls["n"] == bulk.CHUNK + 50:
            raise RuntimeError("worker lost its database connection")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "decide_subject", crash_in_second_chunk)
    with pytest.raises(RuntimeError):
        handle_bulk_decision(_context(world, settings), BulkDecision(op_id))
    with world.db.reader() as s:
        half = bulk_status(s, op_id)
    assert (half.status, half.succeeded, half.pending) == ("running", bulk.CHUNK, 300 - bulk.CHUNK)

    _run(world, settings, op_id)
    done = _run(world, settings, op_id)  # a stray re-run does nothing
    with world.db.reader() as s:
        decisions = s.execute(select(func.count()).select_from(Decision)).scalar_one()
        assert verify_chain(s).ok
    assert (done.status, done.succeeded, done.failed) == ("done", 300, 0)
    assert decisions == 300  # each subject decided exactly once


@pytest.mark.parametrize(
    ("subjects", "request_", "field"),
    [
        ([], TAKEDOWN, "subject_ids"),
        (list(range(1, bulk.MAX_SUBJECTS + 2)), TAKEDOWN, "subject_ids"),
        ([1], DecisionRequest("SPAM", verdict="violation", actions=["suspend"]), "params.days"),
        ([1], DecisionRequest("NOPE", verdict="violation"), "policy_code"),
        ([ExternalRef("no-such-app", "x")], TAKEDOWN, "app"),
        ([ExternalRef("market", "has space")], TAKEDOWN, "external_ids"),
        ([ExternalRef("market", "x" * 201)], TAKEDOWN, "external_ids"),
        ([True], TAKEDOWN, "subject_ids"),
    ],
    ids=["empty", "too-many", "bad-params", "bad-policy", "unknown-app", "bad-external-id", "long-external-id", "not-an-id"],
)
def test_start_checks_the_request_up_front(world: World, subjects: list[SubjectRef], request_: DecisionRequest, field: str) -> None:
    with pytest.raises(FieldError) as caught:
        _start(world, subjects, request_)
    assert caught.value.field == field
    with world.db.reader() as s:
        assert s.execute(select(func.count()).select_from(BulkOperation)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Job)).scalar_one() == 0


def test_undo_withdraws_what_each_item_applied_and_says_so_per_item(world: World, settings: Settings) -> None:
    listings, orphans = _spam_wave(world, 4, 1)
    strike = DecisionRequest("SPAM", verdict="violation", actions=["remove", "strike"], rationale="spam")
    op_id = _start(world, [*listings, orphans[0]], strike)
    _run(world, settings, op_id)
    assert set(world.visibility(*listings)) == {"removed"}
    with world.db.session() as s:  # someone restores lst-2 by hand meanwhile
        s.get_one(Subject, listings[2]).visibility = "visible"

    undo_id = _undo(world, op_id)
    undone = _run(world, settings, undo_id)

    assert (undone.kind, undone.undo_of, undone.total, undone.succeeded, undone.skipped) == ("undo", op_id, 4, 4, 0)
    results = _results(world, undo_id)  # the failed orphan was never applied, so it is not undone
    assert [(r[1], r[2]) for r in results] == [(i, "undone") for i in listings]
    assert results[0][3].startswith("withdrew") and results[2][3].endswith("1 left as changed since")
    assert world.visibility(*listings) == ["visible"] * 4
    assert world.visibility(world.add_subjects(account("spammer"))["spammer"]) == ["visible"]  # the ladder's sanctions too
    with world.db.reader() as s:
        assert bulk_status(s, op_id).undone_by == undo_id
        assert all(st.revoked_at is not None for st in s.execute(select(Strike)).scalars())
        assert s.execute(select(func.count()).select_from(EnforcementAction).where(EnforcementAction.status == "applied")).scalar_one() == 0
        left = [e.object_id for e in s.execute(select(AuditEvent).where(AuditEvent.verb == "action.undone")).scalars() if e.after["skipped"]]
        assert left == [str(listings[2])]  # withdrawn, but its subject left as it was changed since
        reasons = {e.after["reason"] for e in s.execute(select(AuditEvent).where(AuditEvent.verb.in_(["action.undone", "strike.revoked"]))).scalars()}
        assert reasons == {"wrong wave: these were real shops"}
        started = s.execute(select(AuditEvent).where(AuditEvent.verb == "bulk.undo_started")).scalar_one()
        assert (started.actor_id, started.after["undo_of"]) == ("bob", op_id)
        assert verify_chain(s).ok


def test_an_item_whose_subject_changed_since_is_skipped(world: World, settings: Settings) -> None:
    listings, _ = _spam_wave(world, 2, 0)
    op_id = _start(world, listings, DecisionRequest("SPAM", verdict="violation", actions=["remove"], rationale="spam"))
    _run(world, settings, op_id)
    with world.db.session() as s:
        s.get_one(Subject, listings[1]).visibility = "banned"
    undo_id = _undo(world, op_id)
    _run(world, settings, undo_id)
    assert [r[2:] for r in _results(world, undo_id)] == [
        ("undone", "withdrew 1 action"), ("skipped", "changed again since: left as it is")]
    assert world.visibility(*listings) == ["visible", "banned"]


def test_an_undo_is_refused_without_a_reason_before_the_end_twice_or_of_an_undo(world: World, settings: Settings) -> None:
    listings, _ = _spam_wave(world, 2, 0)
    op_id = _start(world, listings)
    with pytest.raises(Conflict, match="still running"):
        _undo(world, op_id)
    _run(world, settings, op_id)
    with pytest.raises(FieldError) as caught:
        _undo(world, op_id, reason="  ")
    assert caught.value.field == "reason"
    undo_id = _undo(world, op_id)
    with pytest.raises(Conflict, match=f"already undone by bulk operation {undo_id}"):
        _undo(world, op_id)
    _run(world, settings, undo_id)
    with pytest.raises(FieldError, match="an undo is not undone"):
        _undo(world, undo_id)
    nothing = _start(world, [10_000_000])
    _run(world, settings, nothing)
    with pytest.raises(FieldError, match="nothing was applied"):
        _undo(world, nothing)


def test_concurrent_undos_of_one_operation_make_exactly_one(world: World, settings: Settings) -> None:
    listings, _ = _spam_wave(world, 3, 0)
    op_id = _start(world, listings)
    _run(world, settings, op_id)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def undo() -> None:
        barrier.wait()
        try:
            _undo(world, op_id)
            outcomes.append("started")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 — anything else is the failure this test looks for
            outcomes.append(f"error: {exc!r}")

    threads = [threading.Thread(target=undo) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["started"]
    with world.db.reader() as s:
        assert s.execute(select(func.count()).select_from(BulkOperation).where(BulkOperation.undo_of == op_id)).scalar_one() == 1


def test_bulk_operations_and_intake_on_the_same_subjects_in_opposite_orders_all_finish(world: World, settings: Settings) -> None:
    """Each chunk locks its subjects' open cases, then the subjects, in id order, as routing
    locks cases: concurrent writers over the same subjects in any order never deadlock."""
    if world.db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; lock order is PostgreSQL's")
    listings, _ = _spam_wave(world, 40, 0)
    world.file(*[{"external_id": f"r-{n}", "subject_external_id": f"lst-{n}", "policy_code": "SPAM", "reporter_type": "support"}
                 for n in range(40)])
    forward = _start(world, listings)
    backward = _start(world, list(reversed(listings)))
    more = [{"external_id": f"later-{n}", "subject_external_id": f"lst-{n}", "policy_code": "SCAM", "reporter_type": "support"}
            for n in reversed(range(40))]
    together([lambda: _run(world, settings, forward), lambda: _run(world, settings, backward), lambda: world.file(*more)])
    with world.db.reader() as s:
        assert {bulk_status(s, op).status for op in (forward, backward)} == {"done"}
        assert bulk_status(s, forward).failed == bulk_status(s, backward).failed == 0
        assert verify_chain(s).ok
