"""Bulk decisions: checked up front, run by the job handler in chunks, a result per subject."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.enforcement.conftest import World, account, item
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.config import Settings
from trustdesk.domain.errors import FieldError
from trustdesk.enforcement import bulk
from trustdesk.enforcement.bulk import (
    BULK_DECISION,
    BulkDecision,
    bulk_status,
    handle_bulk_decision,
    start_bulk,
)
from trustdesk.enforcement.decisions import DecisionRequest
from trustdesk.jobs.registry import WorkerContext
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import BulkItem, BulkOperation, Case, Decision, Job, Report

SENIOR = Actor("staff", "alice")
TAKEDOWN = DecisionRequest("SPAM", verdict="violation", actions=["remove", "warn"], rationale="spam wave")


def _context(world: World, settings: Settings) -> WorkerContext:
    return WorkerContext(world.db, settings, FileBlobStore(settings.blob_dir))


def _start(world: World, subject_ids: list[int], request: DecisionRequest = TAKEDOWN) -> int:
    with world.db.session() as s:
        return start_bulk(s, world.alice, SENIOR, subject_ids, request).id


def _items(world: World, op_id: int) -> dict[int, tuple[str, str | None]]:
    with world.db.reader() as s:
        rows = s.execute(select(BulkItem).where(BulkItem.operation_id == op_id)).scalars()
        return {r.subject_id: (r.status, r.error) for r in rows}


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
        assert bulk_status(s, op_id).pending == 500

    handle_bulk_decision(_context(world, settings), BulkDecision(op_id))

    with world.db.reader() as s:
        status = bulk_status(s, op_id)
        decided = s.execute(select(Decision.subject_id).where(Decision.bulk_operation_id == op_id)).scalars().all()
        report_status = s.get_one(Report, reports[0]).status
        assert verify_chain(s).ok
    assert (status.status, status.total, status.succeeded, status.failed, status.pending) == ("done", 500, 470, 30, 0)
    results = _items(world, op_id)
    assert {results[i][0] for i in listings} == {"done"}
    assert all(results[i] == ("failed", f"subject_id: no subject {i}") for i in unknown)
    assert all(results[i] == ("failed", f"subject_id: subject {i} has no owning account") for i in orphans)
    assert sorted(decided) == sorted(listings)  # refused items left no decision behind
    assert set(world.visibility(*listings[:5])) == {"removed"} and set(world.visibility(*orphans[:5])) == {"visible"}
    assert len(status.failures) == 30 and status.failures[0] == (orphans[0], results[orphans[0]][1])
    assert world.subject(listings[3]).visibility == "removed" and report_status == "actioned"
    with world.db.reader() as s:
        assert s.get_one(Case, case_id).status == "decided"


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

    handle_bulk_decision(_context(world, settings), BulkDecision(op_id))
    handle_bulk_decision(_context(world, settings), BulkDecision(op_id))  # a stray re-run does nothing
    with world.db.reader() as s:
        done = bulk_status(s, op_id)
        decisions = s.execute(select(func.count()).select_from(Decision)).scalar_one()
        assert verify_chain(s).ok
    assert (done.status, done.succeeded, done.failed) == ("done", 300, 0)
    assert decisions == 300  # each subject decided exactly once


@pytest.mark.parametrize(
    ("subject_ids", "request_", "field"),
    [
        ([], TAKEDOWN, "subject_ids"),
        (list(range(1, bulk.MAX_SUBJECTS + 2)), TAKEDOWN, "subject_ids"),
        ([1], DecisionRequest("SPAM", verdict="violation", actions=["suspend"]), "params.days"),
        ([1], DecisionRequest("NOPE", verdict="violation"), "policy_code"),
    ],
    ids=["empty", "too-many", "bad-params", "bad-policy"],
)
def test_start_checks_the_request_up_front(world: World, subject_ids: list[int], request_: DecisionRequest, field: str) -> None:
    with pytest.raises(FieldError) as caught:
        _start(world, subject_ids, request_)
    assert caught.value.field == field
    with world.db.reader() as s:
        assert s.execute(select(func.count()).select_from(BulkOperation)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Job)).scalar_one() == 0
