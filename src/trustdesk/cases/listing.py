"""Queue views: counts per queue, and a queue's cases in the order reviewers get them.

Counts are configuration-level facts every staff member sees; a queue's cases are listed only
to those who may see them (`trustdesk.cases.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.cases.access import Reviewer, visible_queue
from trustdesk.store.models import Case, Queue, QueueCounter, Subject, utcnow


def queue_overview(session: Session) -> list[dict[str, Any]]:
    """Open, breached and claimed counts per queue, for the queue list.

    Open and breached come from the maintained counters (`trustdesk.store.counters`): breached
    counts the breaches the SLA sweep has recorded, so a case shows there within a minute of
    its due time. Claimed is counted live, from the few cases that carry a claim (at most one
    per reviewer), since a lease runs out without any write.
    """
    counted = {
        row.queue_id: row for row in session.execute(
            select(QueueCounter.queue_id, func.sum(QueueCounter.open).label("open"), func.sum(QueueCounter.breached).label("breached"))
            .group_by(QueueCounter.queue_id)
        )
    }
    claimed = dict(session.execute(
        select(Case.queue_id, func.count())
        .where(Case.claimed_by.is_not(None), Case.lease_until > utcnow(), Case.status == "open").group_by(Case.queue_id)
    ).all())
    return [
        {"queue": q, "open": int(counted[q.id].open) if q.id in counted else 0,
         "breached": int(counted[q.id].breached) if q.id in counted else 0, "claimed": claimed.get(q.id, 0)}
        for q in session.execute(select(Queue).order_by(Queue.is_default, Queue.position)).scalars()
    ]


@dataclass
class QueueEntry:
    case: Case
    subject: Subject


def queue_cases(
    session: Session, reader: Reviewer, queue_id: int, *, limit: int = 50, offset: int = 0, policy_code: str | None = None,
) -> list[QueueEntry]:
    """Open cases in claim order (score, then due time), with their subjects; Forbidden if not `reader`'s to see."""
    visible_queue(session, reader, queue_id)
    stmt = (
        select(Case, Subject).join(Subject, Subject.id == Case.subject_id)
        .where(Case.queue_id == queue_id, Case.status == "open")
        .order_by(Case.priority_score.desc(), Case.due_at).limit(limit).offset(offset)
    )
    if policy_code:
        stmt = stmt.where(Case.policy_code == policy_code)
    return [QueueEntry(case, subject) for case, subject in session.execute(stmt).all()]
