"""Schema migrations, run by `trustdesk db upgrade` and by the test fixtures."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def revise(url: str, message: str) -> None:
    """Autogenerate a new migration from the models (a developer command)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


# Any fixed number, the same in every process: the advisory lock's name on PostgreSQL.
_UPGRADE_LOCK = 0x7472757374  # "trust"


@contextmanager
def one_at_a_time(url: str) -> Iterator[None]:
    """Hold the database's upgrade lock: hosts started together each run `db upgrade`, and two
    migrations or seedings at once would both create the same tables and rows. PostgreSQL: a
    session advisory lock; a SQLite file: an exclusive `flock` on a file beside it."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            yield
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path + "-upgrade", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield  # released when the file closes
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK})
                conn.commit()
    finally:
        engine.dispose()
