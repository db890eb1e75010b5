"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

Writes go through `Database.session()`. On SQLite a write transaction starts with
`BEGIN IMMEDIATE`, so two processes never both read and then fail to upgrade to a write lock,
once it has its turn (threads queue in order, processes on a lock file, `…-writer`), which it
takes at its first statement and gives back when it ends;
`Database.reader()` gives a deferred, read-only transaction for pages and reports, and is
where a PostgreSQL read replica will plug in.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import log as audit_log
from trustdesk.store import counters, inserted_now, locked_rows_read_again
from trustdesk.store.dialects import json_text


def _make_engine(url: str, *, immediate: bool, turns: _WriteTurns | None = None, autocheckpoint: bool = True) -> Engine:
    """An engine; on SQLite, one whose transactions begin IMMEDIATE (for writing) or deferred,
    and, with `turns`, take a write turn just before they begin and give it back when their
    connection returns to the pool (committed or rolled back). Without `autocheckpoint`, its
    commits leave checkpointing the WAL to a `_Checkpoints` thread."""
    json_codec = {"json_serializer": json_text, "json_deserializer": orjson.loads}
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40, **json_codec)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **json_codec)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages per connection
        cursor.execute("PRAGMA temp_store=MEMORY")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        # A connection that begins again before its checkin still holds its turn.
        taking = turns is not None and not conn.connection.info.get(_TURN)
        if taking:
            turns.__enter__()
        try:
            conn.exec_driver_sql(begin)
        except BaseException:
            if taking:
                turns.__exit__(None, None, None)
            raise
        if taking:
            conn.connection.info[_TURN] = True

    if turns is not None:
        @event.listens_for(engine, "checkin")
        def _end_turn(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
            if record.info.pop(_TURN, False):
                turns.__exit__(None, None, None)

    return engine


_TURN = "write_turn"  # set in a pooled connection's info while its transaction holds the turn


class _ProcessTurns:
    """The write turn between processes on one SQLite file: an exclusive `flock` on a file beside
    it. A process waiting for SQLite's own lock sleeps in growing steps (up to 100 ms), so it may
    sleep on while the lock is free, and be passed over again and again (for over a second when
    intake and the worker are both busy); a process waiting on `flock` is woken as soon as it is
    released."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: tuple[int, int] | None = None  # (process id, descriptor): a forked child opens its own

    def __enter__(self) -> None:
        if self._fd is None or self._fd[0] != os.getpid():
            self._fd = (os.getpid(), os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600))
        fcntl.flock(self._fd[1], fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd[1], fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None and self._fd[0] == os.getpid():
            os.close(self._fd[1])
        self._fd = None


class _WriteTurns:
    """This process's turn among its threads, then (with a lock file) among processes."""

    def __init__(self, threads: _Turns, processes: _ProcessTurns | None) -> None:
        self._threads, self._processes = threads, processes

    def __enter__(self) -> None:
        self._threads.__enter__()
        if self._processes is not None:
            try:
                self._processes.__enter__()
            except BaseException:
                self._threads.__exit__()
                raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._processes is not None:
                self._processes.__exit__()
        finally:
            self._threads.__exit__()


class _Checkpoints:
    """Checkpoints a SQLite file's WAL (copies what it holds into the database, so that it can
    start again from its beginning) from a thread of its own, every `every` seconds. SQLite
    otherwise does it in the commit that fills the WAL past 1,000 pages: one synchronous check
    in about thirty, or one of intake's batches, waited 5–7 ms for it while holding the write
    turn. PASSIVE, as SQLite's own: it copies what no reader still needs and waits for no one."""

    def __init__(self, path: str, every: float) -> None:
        self._path, self._every = path, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(self._every):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # tried again next time; commits go on meanwhile, the WAL only grows
                    logger.warning("WAL checkpoint failed", exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _Turns:
    """A first-come, first-served lock: a plain `threading.Lock` lets one thread win it again and
    again, so under load a few writers wait for seconds."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._issued = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._changed:
            ticket = self._issued
            self._issued += 1
            self._changed.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *_exc: object) -> None:
        with self._changed:
            self._serving += 1
            self._changed.notify_all()


T = TypeVar("T")
logger = logging.getLogger(__name__)


class Database:
    def __init__(self, url: str, *, info: dict[str, Any] | None = None, checkpoint_every: float | None = None) -> None:
        """`info` is copied into every session's `Session.info`: settings that code deep in a
        transaction reads (the appeal window that notices state). It also holds the database
        itself, under "database", for the process-wide helpers of `shared`. `checkpoint_every`
        (seconds; SQLite files only) is for long-running processes: their commits leave the
        WAL to a thread that checkpoints it that often (`_Checkpoints`)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # SQLite has one writer at a time; threads of this process queue here in order instead
        # of retrying against the busy timeout, which starves some of them, and then processes
        # on the same file queue on a lock file beside it. A write transaction takes its turn
        # when it begins, at its first statement: what a request does before (checking its
        # body) or a session after its commit holds no other writer up.
        path = make_url(url).database if self.is_sqlite else None
        self._process_turn = _ProcessTurns(path + "-writer") if path and path != ":memory:" else None
        turns = _WriteTurns(_Turns(), self._process_turn) if self.is_sqlite else None
        self._checkpoints = _Checkpoints(path, checkpoint_every) if checkpoint_every and self._process_turn and path else None
        self.engine = _make_engine(url, immediate=True, turns=turns, autocheckpoint=self._checkpoints is None)
        self.read_engine = _make_engine(url, immediate=False, autocheckpoint=self._checkpoints is None) if self.is_sqlite else self.engine
        info = {**(info or {}), "database": self}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._readers = sessionmaker(self.read_engine, expire_on_commit=False, info=info)
        self._shared: dict[Callable[..., Any], Any] = {}
        self._shared_lock = threading.Lock()
        audit_log.install(self._sessions)
        counters.install(self._sessions)  # after the audit log: counts are written once its block is sealed
        inserted_now.install(self._sessions)
        locked_rows_read_again.install(self._sessions)

    def shared(self, factory: Callable[[Database], T]) -> T:
        """This process's one `factory(self)`, made on first use: for helpers that keep a copy of
        some tables in memory and current from the database (the hash and text bank matchers)."""
        with self._shared_lock:
            if factory not in self._shared:
                self._shared[factory] = factory(self)
            return self._shared[factory]  # type: ignore[no-any-return]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only transaction; closing it rolls back, so nothing it does is kept."""
        with self._readers() as session:
            yield session

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
        if self._process_turn is not None:
            self._process_turn.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
