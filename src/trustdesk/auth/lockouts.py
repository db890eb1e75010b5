"""Failed logins per (username, address), with a back-off that doubles, shared by every process.

Locking a whole account lets a stranger who knows a username (say, `admin`) keep its owner
out for ever. Following OWASP's authentication guidance, a lock here covers one username from
one address: the attacker locks only themselves, while the owner signs in from their own
address. After `login_max_failures` failures in a row the pair is locked for
`login_lockout_seconds`, and each further failure after a lock ends doubles the wait (up to a
day). The counter starts again after a day without failures, and a good login clears it.

The key is the username as typed, whether or not such a user exists, so a locked unknown
username looks exactly like a locked real one.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustdesk.config import Settings
from trustdesk.store.models import LoginThrottle, as_utc, utcnow

MAX_LOCK = timedelta(days=1)
FORGOTTEN_AFTER = timedelta(days=1)


def locked_for(session: Session, username: str, address: str) -> int:
    """Seconds until this username may be tried again from this address; 0 if it may now."""
    until = session.execute(
        select(LoginThrottle.locked_until).where(LoginThrottle.username == username, LoginThrottle.address == address)
    ).scalar_one_or_none()
    remaining = (as_utc(until) - utcnow()).total_seconds() if until else 0.0
    return math.ceil(remaining) if remaining > 0 else 0


def count_failure(session: Session, settings: Settings, username: str, address: str) -> tuple[int, int]:
    """Count one failed attempt atomically; returns (failures in a row, seconds locked, 0 if not)."""
    now = utcnow()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(LoginThrottle).values(username=username, address=address, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginThrottle.username, LoginThrottle.address],
        set_={
            "failures": case((LoginThrottle.last_failure_at < now - FORGOTTEN_AFTER, 1), else_=LoginThrottle.failures + 1),
            "last_failure_at": now,
        },
    ).returning(LoginThrottle.failures)
    failures = session.execute(stmt).scalar_one()
    if failures < settings.login_max_failures:
        return failures, 0
    doublings = min(failures - settings.login_max_failures, 20)  # 2**20 × any lockout is past the cap
    wait = min(timedelta(seconds=settings.login_lockout_seconds * 2**doublings), MAX_LOCK)
    session.execute(
        update(LoginThrottle).where(LoginThrottle.username == username, LoginThrottle.address == address)
        .values(locked_until=now + wait)
    )
    return failures, int(wait.total_seconds())


def clear(session: Session, username: str, address: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == username, LoginThrottle.address == address))
