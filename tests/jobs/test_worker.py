"""The worker loop: dispatch by kind, record outcomes, stop when asked."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from trustdesk.config import Settings
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.worker import HANDLERS, WorkerContext, run_worker
from trustdesk.store.database import Database
from trustdesk.store.models import Job


def _enqueue(db: Database, kind: str, payload: dict[str, Any]) -> int:
    with db.session() as session:
        return enqueue(session, kind, payload).id


def _job(db: Database, job_id: int) -> Job:
    with db.session() as session:
        return session.get_one(Job, job_id)


def test_once_drains_due_jobs_through_their_handlers(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setitem(HANDLERS, "test.echo", lambda ctx, payload: seen.append(payload))
    ids = [_enqueue(db, "test.echo", {"n": n}) for n in range(3)]
    with caplog.at_level(logging.INFO, logger="trustdesk.jobs.worker"):
        assert run_worker(db, settings, worker_id="w1", once=True) == 3
    assert seen == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [_job(db, i).status for i in ids] == ["done"] * 3
    done = [r for r in caplog.records if r.getMessage() == "job done"]
    assert [(r.job_id, r.job_kind, r.worker_id) for r in done] == [(i, "test.echo", "w1") for i in ids]


def test_handler_error_fails_the_job_for_a_later_retry(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(ctx: WorkerContext, payload: dict[str, Any]) -> None:
        raise RuntimeError("upstream down")

    monkeypatch.setitem(HANDLERS, "test.explode", explode)
    job_id = _enqueue(db, "test.explode", {})
    assert run_worker(db, settings, worker_id="w1", once=True) == 1  # the retry is not due yet
    job = _job(db, job_id)
    assert (job.status, job.attempts, job.last_error) == ("queued", 1, "RuntimeError: upstream down")


def test_unknown_kind_fails_with_a_clear_error(db: Database, settings: Settings) -> None:
    job_id = _enqueue(db, "test.nobody-handles-this", {})
    assert run_worker(db, settings, worker_id="w1", once=True) == 1
    error = _job(db, job_id).last_error
    assert error is not None
    assert error.startswith("UnknownJobKind: no handler for job kind 'test.nobody-handles-this'; known kinds: ")
    assert "fetch_media" in error


def test_loop_runs_until_stopped(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    handled, stop = threading.Event(), threading.Event()
    monkeypatch.setitem(HANDLERS, "test.signal", lambda ctx, payload: handled.set())
    counts: list[int] = []
    thread = threading.Thread(
        target=lambda: counts.append(run_worker(db, settings, worker_id="w1", poll_seconds=0.01, stop_event=stop))
    )
    thread.start()
    _enqueue(db, "test.signal", {})  # arrives while the worker is already polling
    assert handled.wait(timeout=30)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert counts == [1]


def test_a_set_stop_event_claims_nothing(db: Database, settings: Settings) -> None:
    job_id = _enqueue(db, "test.echo", {})
    stop = threading.Event()
    stop.set()
    assert run_worker(db, settings, worker_id="w1", stop_event=stop) == 0
    assert _job(db, job_id).status == "queued"
