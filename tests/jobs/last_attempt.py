"""A job whose every attempt died with its worker: what the next worker finds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from trustdesk.store.database import Database
from trustdesk.store.models import Job, utcnow


def every_attempt_died(db: Database, kind: str) -> None:
    """Leave the `kind` jobs as a worker killed on their last attempt does: running, no attempts
    left, the lease run out."""
    with db.session() as session:
        session.execute(update(Job).where(Job.kind == kind).values(
            status="running", attempts=Job.max_attempts, locked_by="dead", locked_until=utcnow() - timedelta(seconds=1)))
