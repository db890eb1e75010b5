"""Fixed-window rate limits counted in the database, so every process sees the same count."""

from __future__ import annotations

import time

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustdesk.store.models import RateLimit


def hit(session: Session, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one use of `key`; False once more than `limit` uses fall in the current window."""
    window = int(time.time()) // window_seconds * window_seconds
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(RateLimit).values(key=key, window_start=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateLimit.key, RateLimit.window_start], set_={"count": RateLimit.count + 1}
    ).returning(RateLimit.count)
    return session.execute(stmt).scalar_one() <= limit


def current(session: Session, key: str, *, window_seconds: int) -> int:
    """How many uses of `key` fall in the current window, without counting one more."""
    window = int(time.time()) // window_seconds * window_seconds
    found = session.get(RateLimit, (key, window))
    return found.count if found else 0
