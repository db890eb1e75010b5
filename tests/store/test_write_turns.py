"""SQLite's processes on one file take write turns through an exclusive lock on the file beside
it (`…-writer`), taken at a write transaction's first statement and released when it ends,
committed or not; reading takes no turn."""

from __future__ import annotations

import subprocess
import threading
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from trustdesk.store.database import Database

# Exit 0 when the lock file's exclusive lock can be taken now, 1 when another process holds it.
_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(1)
"""


def _free(lock_file: Path) -> bool:
    """Whether another process could take the turn now (no lock file yet: nobody has taken it)."""
    if not lock_file.exists():
        return True
    return subprocess.run([sys.executable, "-c", _TRY_LOCK, str(lock_file)], check=False).returncode == 0


def test_another_process_waits_for_the_write_transaction_to_end(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    lock_file = tmp_path / "turns.db-writer"
    try:
        with db.session() as s:
            assert _free(lock_file)  # the turn is taken at the first statement, not before
            s.execute(text("CREATE TABLE t (n INTEGER)"))
            assert not _free(lock_file)
        assert _free(lock_file)
        with pytest.raises(RuntimeError), db.session() as s:  # rolled back: the turn ends all the same
            s.execute(text("INSERT INTO t VALUES (1)"))
            assert not _free(lock_file)
            raise RuntimeError("refused")
        assert _free(lock_file)
        with db.reader() as s:  # reading takes no turn
            assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
            assert _free(lock_file)
    finally:
        db.dispose()


def test_a_connection_that_begins_again_before_it_is_returned_keeps_its_turn(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    counted: list[int] = []

    def two_transactions_then_a_session() -> None:
        with db.engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (n INTEGER)"))
            connection.commit()
            connection.execute(text("INSERT INTO t VALUES (1)"))  # a second transaction: no second turn to wait for
            connection.commit()
        with db.session() as s:  # and the turn was given back
            counted.append(s.execute(text("SELECT count(*) FROM t")).scalar_one())

    worker = threading.Thread(target=two_transactions_then_a_session, daemon=True)
    worker.start()
    worker.join(timeout=20)
    try:
        assert not worker.is_alive(), "waiting for its own turn"
        assert counted == [1]
    finally:
        if not worker.is_alive():
            db.dispose()
