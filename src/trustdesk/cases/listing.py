"""Queue views: counts per queue, and a queue's cases in the order reviewers get them.

Counts are configuration-level facts every staff member sees; a queue's cases are listed only
to those who may see them (`trustdesk.cases.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.cases.access import Reviewer, visible_queue
from trustdesk.store.models import Case, Queue, Subject, utcnow


def queue_overview(session: Session) -> list[dict[str, Any]]:
    """Open, breached and claimed counts per queue, for the queue list."""
    now = utcnow()
    rows = session.execute(
        select(
            Case.queue_id,
            func.count(),
            func.sum(when((Case.due_at < now, 1), else_=0)),
            func.sum(when((Case.lease_until > now, 1), else_=0)),
        ).where(Case.status == "open").group_by(Case.queue_id)
    ).all()
    counts = {r[0]: {"open": r[1], "breached": int(r[2] or 0), "claimed": int(r[3] or 0)} for r in rows}
    return [
        {"queue": q, **counts.get(q.id, {"open": 0, "breached": 0, "claimed": 0})}
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
