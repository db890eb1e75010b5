"""A long-running process checkpoints SQLite's WAL from a thread of its own, not in its commits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from trustdesk.store.database import Database

ROWS = 500  # of 4 KiB: 2 MiB, half of what makes SQLite checkpoint in a commit


def _write(db: Database) -> None:
    with db.session() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS filler (body TEXT)"))
        session.execute(text("INSERT INTO filler (body) VALUES (:body)"), [{"body": "x" * 4096}] * ROWS)


def _checkpointers() -> set[threading.Thread]:
    """The checkpoint threads alive in this process (other tests' databases may still have theirs)."""
    return {t for t in threading.enumerate() if t.name == "wal-checkpoints"}


def test_the_wal_is_checkpointed_by_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "checkpointed.db"
    others = _checkpointers()
    db = Database(f"sqlite:///{path}", checkpoint_every=0.05)
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0  # commits leave it to the thread
        _write(db)
        deadline = time.monotonic() + 10
        while path.stat().st_size < ROWS * 4096 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= ROWS * 4096  # the rows were copied from the WAL into the file
    finally:
        db.dispose()
    assert _checkpointers() <= others  # stopped with the database


def test_short_lived_processes_keep_sqlite_checkpointing_in_commits(tmp_path: Path) -> None:
    others = _checkpointers()
    db = Database(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
        _write(db)
        assert _checkpointers() <= others
    finally:
        db.dispose()
