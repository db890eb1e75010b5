"""Names (and other values) that must be unique are decided by the database's unique constraint.

Looking first and inserting after is a race: two requests both find the name free, and the
second's INSERT then fails at the constraint, a server error. Writing inside `claimed` runs the
write in a savepoint and turns a lost race into the error a look would have given, naming the
field, with the transaction still usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustdesk.domain.errors import FieldError

# SQLite's extended result codes for a unique index and a primary key; PostgreSQL's SQLSTATE.
_SQLITE_UNIQUE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
_POSTGRES_UNIQUE = "23505"


@contextmanager
def claimed(session: Session, taken: FieldError) -> Iterator[None]:
    """Run the block's writes in a savepoint, flushed at its end; raise `taken` if they break a
    unique constraint (a row written meanwhile by another transaction, or there before)."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise taken from exc


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether the database refused a duplicate, rather than a missing reference or a check."""
    original = exc.orig
    return (getattr(original, "sqlite_errorname", None) in _SQLITE_UNIQUE
            or getattr(original, "sqlstate", None) == _POSTGRES_UNIQUE)
