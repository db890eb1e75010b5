"""Queue views: counts per queue, and a queue's cases, filtered and sorted, a page at a time.

Counts are configuration-level facts every staff member sees; a queue's cases are listed only
to those who may see them (`trustdesk.cases.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from trustdesk.cases.access import LEGAL_KINDS, Reviewer, hiding_queue_ids, unhidden_subject, visible_queue
from trustdesk.domain.errors import FieldError
from trustdesk.domain.priority import Band
from trustdesk.domain.vocabulary import ReporterType
from trustdesk.store import keyset
from trustdesk.store.models import Case, CaseSkip, Queue, QueueCounter, Report, Subject, as_utc, utcnow


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


class QueueSort(StrEnum):
    """Orders of the queue view; `priority` is the order "next case" serves them in."""

    PRIORITY = "priority"
    DUE = "due"
    OLDEST = "oldest"
    NEWEST = "newest"
    REPORTS = "reports"


class Age(StrEnum):
    """How long a case has been open."""

    UNDER_1H = "under-1h"
    FROM_1H_TO_4H = "1h-4h"
    FROM_4H_TO_1D = "4h-1d"
    OVER_1D = "over-1d"


# Each age as (open at least, open less than).
_AGES: dict[Age, tuple[timedelta | None, timedelta | None]] = {
    Age.UNDER_1H: (None, timedelta(hours=1)),
    Age.FROM_1H_TO_4H: (timedelta(hours=1), timedelta(hours=4)),
    Age.FROM_4H_TO_1D: (timedelta(hours=4), timedelta(days=1)),
    Age.OVER_1D: (timedelta(days=1), None),
}
# The case id ends every order, so a position in it is exact.
_ORDERS: dict[QueueSort, tuple[keyset.Key, ...]] = {
    QueueSort.PRIORITY: (keyset.Key(Case.priority_score, descending=True), keyset.Key(Case.due_at), keyset.Key(Case.id)),
    QueueSort.DUE: (keyset.Key(Case.due_at), keyset.Key(Case.id)),
    QueueSort.OLDEST: (keyset.Key(Case.created_at), keyset.Key(Case.id)),
    QueueSort.NEWEST: (keyset.Key(Case.created_at, descending=True), keyset.Key(Case.id, descending=True)),
    QueueSort.REPORTS: (keyset.Key(Case.report_count, descending=True), keyset.Key(Case.priority_score, descending=True), keyset.Key(Case.id)),
}


@dataclass(frozen=True)
class QueueFilter:
    """What the queue view narrows to; None leaves that side open."""

    policy_code: str | None = None
    language: str | None = None
    band: Band | None = None
    age: Age | None = None
    breached: bool | None = None
    reporter_type: ReporterType | None = None

    def __post_init__(self) -> None:
        for name in ("policy_code", "language"):
            value = getattr(self, name)
            if value is not None and (len(value) > 64 or not value.isprintable()):
                raise FieldError(name, "not a value this filter can match")

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.policy_code:
            found.append(Case.policy_code == self.policy_code)
        if self.language:
            found.append(Subject.language == self.language)
        if self.band:
            found.append(Case.band == self.band.value)
        if self.age:
            at_least, less_than = _AGES[self.age]
            found += [Case.created_at <= now - at_least] if at_least else []
            found += [Case.created_at > now - less_than] if less_than else []
        if self.breached is not None:
            found.append(Case.due_at < now if self.breached else Case.due_at >= now)
        if self.reporter_type:
            found.append(select(Report.id).where(Report.case_id == Case.id, Report.reporter_type == self.reporter_type.value).exists())
        return found


@dataclass
class QueueEntry:
    case: Case
    subject: Subject
    # Until when the reader skipped this case ("next case" leaves it out for them till then).
    skipped_until: datetime | None = None


@dataclass
class QueuePage:
    """One page of a queue; a cursor for the page on each side, where there may be one."""

    entries: list[QueueEntry]
    next: str | None
    previous: str | None


def queue_cases(
    session: Session, reader: Reviewer, queue_id: int, *, filters: QueueFilter = QueueFilter(),
    sort: QueueSort = QueueSort.PRIORITY, after: str | None = None, before: str | None = None, limit: int = 50,
) -> QueuePage:
    """A page of open cases with their subjects, read by keyset; Forbidden if not `reader`'s to see.

    `after` (or `before`) is a cursor from an earlier page in the same order.
    """
    visible_queue(session, reader, queue_id)
    keys, now, backwards = _ORDERS[sort], utcnow(), before is not None and after is None
    # As `visible_case`: a moderation case about a subject hidden from the reader is left out.
    shown = Case.kind.in_(LEGAL_KINDS) | unhidden_subject(Case.subject_id, hiding_queue_ids(session, reader))
    stmt = (
        select(Case, Subject).join(Subject, Subject.id == Case.subject_id)
        .where(Case.queue_id == queue_id, Case.status == "open", shown, *filters.conditions(now))
    )
    cursor = after or before
    if cursor:
        stmt = stmt.where(keyset.beyond(keys, keyset.decode(cursor, sort.value, keys, "after" if after else "before"), backwards=backwards))
    rows = session.execute(stmt.order_by(*keyset.order_by(keys, backwards=backwards)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit][::-1] if backwards else rows[:limit]
    skipped = _skipped(session, reader.id, [case.id for case, _ in rows], now)
    entries = [QueueEntry(case, subject, skipped.get(case.id)) for case, subject in rows]
    if not entries:
        return QueuePage([], None, None)
    first, last = keyset.encode(sort.value, keys, entries[0].case), keyset.encode(sort.value, keys, entries[-1].case)
    if backwards:
        return QueuePage(entries, next=last, previous=first if more else None)
    return QueuePage(entries, next=last if more else None, previous=first if cursor else None)


def _skipped(session: Session, reader_id: int, case_ids: list[int], now: datetime) -> dict[int, datetime]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseSkip.case_id, CaseSkip.until).where(CaseSkip.staff_id == reader_id, CaseSkip.case_id.in_(case_ids), CaseSkip.until > now)
    ).all()
    return {case_id: as_utc(until) for case_id, until in rows}


def queue_languages(session: Session, queue_id: int) -> list[str]:
    """The languages of the subjects waiting in a queue, for the view's language filter."""
    return list(session.execute(
        select(Subject.language).join(Case, Case.subject_id == Subject.id)
        .where(Case.queue_id == queue_id, Case.status == "open", Subject.language.is_not(None)).distinct().order_by(Subject.language)
    ).scalars())
