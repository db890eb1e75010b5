"""Moderator wellness: hourly exposure to graphic queues, and stepping out of them.

Exposure is counted per reviewer per clock hour in the shared rate-limit table, so every
process sees the same count. Stepping out of a graphic queue is recorded without any penalty
and is not an audit event about the reviewer's performance.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trustdesk.auth import rate_limits
from trustdesk.cases.access import Reviewer, visible_queue
from trustdesk.domain.errors import FieldError
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import QueueOptOut

HOUR = 3600


def _key(staff_id: int) -> str:
    return f"exposure:{staff_id}"


def exposure_this_hour(session: Session, staff_id: int) -> int:
    return rate_limits.current(session, _key(staff_id), window_seconds=HOUR)


def count_exposure(session: Session, staff_id: int) -> None:
    rate_limits.hit(session, _key(staff_id), limit=1 << 30, window_seconds=HOUR)


def step_out(session: Session, reviewer: Reviewer, queue_id: int) -> None:
    """Leave a graphic queue one may see (403 for another, as its case list answers)."""
    queue = visible_queue(session, reviewer, queue_id)
    if not queue.graphic:
        raise FieldError("queue_id", "only graphic queues can be stepped out of")
    # Twice at once (a double click) is once: the row's key decides, not a look first.
    session.execute(conflict_insert(session, QueueOptOut).values(staff_id=reviewer.id, queue_id=queue_id).on_conflict_do_nothing())


def step_back_in(session: Session, staff_id: int, queue_id: int) -> None:
    session.execute(delete(QueueOptOut).where(QueueOptOut.staff_id == staff_id, QueueOptOut.queue_id == queue_id))


def stepped_out(session: Session, staff_id: int) -> set[int]:
    return set(session.execute(select(QueueOptOut.queue_id).where(QueueOptOut.staff_id == staff_id)).scalars())
