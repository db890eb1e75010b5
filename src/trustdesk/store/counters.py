"""Counts the console polls, kept current by the transactions that change what they count.

The home page and the queue list refresh every few seconds; counting every open case, report
and subject each time is a scan of them all. Small tables hold the counts instead:

    queue_counters    per queue and band   open cases, open cases with a recorded SLA breach
    report_counters   per policy code      open reports
    subject_counters  per kind             subjects

What a row counts for is declared once, in `TALLIES`, and used three ways: at every flush, to
count the changes of ORM objects from their before and after values (a service that sets
`case.status` or `case.queue_id` need do nothing more); by `changed` and `inserted`, for rows
written with bulk `insert(...)` or `update(...)` statements, which the ORM does not see (a new
such statement on a counted column must call them); and by `recount`, to count afresh from the
tables. A transaction's changes are summed and written when it commits, after its audit block
is sealed, in key order, as upserts of `n = n + change`: never a read-modify-write, never two
transactions taking counter rows in opposite orders.

`check` compares the counts with a recount and `repair` rewrites them (`trustdesk db counters`).
Like the audit log, a rolled-back savepoint takes back only the changes made since it began.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, event, func, insert, select, text, true
from sqlalchemy import case as when
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import get_history

from trustdesk.store.dialects import conflict_insert, dialect_name
from trustdesk.store.pending import Pending
from trustdesk.store.models import (
    Base,
    Case,
    QueueCounter,
    Report,
    ReportCounter,
    Subject,
    SubjectCounter,
)

NOT_NULL = object()  # in a condition: the column holds any value but NULL
_CHANGES = "counter_changes"

Key = tuple[Any, ...]


@dataclass(frozen=True, eq=False)  # hashed by identity: `_upsert` keeps a statement per tally
class Tally:
    """One counter table: which model's rows it counts, by which key, and when a row counts."""

    counter: type[Base]
    source: type[Base]
    key: tuple[str, ...]  # columns of `source`, named alike in `counter`
    counts: dict[str, dict[str, object]]  # counter column → the values a source row must hold

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """The source columns whose values decide what a row counts for."""
        named = [*self.key, *(column for condition in self.counts.values() for column in condition)]
        return tuple(dict.fromkeys(named))

    def of(self, row: Mapping[str, Any]) -> Iterator[tuple[Key, str]]:
        """The (key, counter column) pairs a row with these values counts once in."""
        key = tuple(row[column] for column in self.key)
        for counted, condition in self.counts.items():
            # A column a bulk insert leaves out holds its default: None for the ones counted on.
            if all(row.get(c) is not None if v is NOT_NULL else row.get(c) == v for c, v in condition.items()):
                yield key, counted

    def condition(self, counted: str) -> ColumnElement[bool]:
        table = self.source.__table__
        terms = [table.c[c].is_not(None) if v is NOT_NULL else table.c[c] == v for c, v in self.counts[counted].items()]
        return and_(true(), *terms)


TALLIES = (
    Tally(QueueCounter, Case, ("queue_id", "band"),
          {"open": {"status": "open"}, "breached": {"status": "open", "breached_at": NOT_NULL}}),
    Tally(ReportCounter, Report, ("policy_code",), {"open": {"status": "open"}}),
    Tally(SubjectCounter, Subject, ("kind",), {"total": {}}),
)
_BY_SOURCE = {tally.source: tally for tally in TALLIES}


def changed(session: Session, model: type[Base], before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    """Count a row's change made outside the ORM: None before for a new row, None after for a deleted one."""
    tally = _BY_SOURCE[model]
    changes: Counter[tuple[type[Base], Key, str]] = session.info.setdefault(_CHANGES, Counter())
    if before is not None:
        for key, counted in tally.of(before):
            changes[tally.counter, key, counted] -= 1
    if after is not None:
        for key, counted in tally.of(after):
            changes[tally.counter, key, counted] += 1


def inserted(session: Session, model: type[Base], rows: Iterable[Mapping[str, Any]]) -> None:
    """Count rows written with a bulk `insert(...)`."""
    for row in rows:
        changed(session, model, None, row)


def _values(obj: Base, columns: tuple[str, ...]) -> dict[str, Any]:
    return {column: getattr(obj, column) for column in columns}


def _values_changed(obj: Base, columns: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The values before and after this flush, or None if none of them changed. (Counted columns
    keep their history even when set while unloaded: `active_history` in the models.)"""
    histories = {column: get_history(obj, column) for column in columns}
    if not any(history.has_changes() for history in histories.values()):
        return None
    before, after = {}, {}
    for column, history in histories.items():
        unchanged = history.unchanged[0] if history.unchanged else getattr(obj, column)
        before[column] = history.deleted[0] if history.deleted else unchanged
        after[column] = history.added[0] if history.added else unchanged
    return before, after


def _count_flush(session: Session, _context: object) -> None:
    for obj in session.new:
        if (tally := _BY_SOURCE.get(type(obj))) is not None:
            changed(session, tally.source, None, _values(obj, tally.columns))
    for obj in session.dirty:
        if (tally := _BY_SOURCE.get(type(obj))) is not None and (values := _values_changed(obj, tally.columns)) is not None:
            changed(session, tally.source, *values)
    for obj in session.deleted:
        if (tally := _BY_SOURCE.get(type(obj))) is not None:
            values = _values_changed(obj, tally.columns)
            changed(session, tally.source, values[0] if values else _values(obj, tally.columns), None)


def _write(session: Session) -> None:
    if session.in_nested_transaction():  # a released savepoint: its changes are written with the transaction's
        return
    session.flush()  # count what is still unflushed: commit flushes only after this hook
    changes: Counter[tuple[type[Base], Key, str]] = session.info.pop(_CHANGES, Counter())
    for tally in TALLIES:
        rows: dict[Key, dict[str, int]] = {}
        for (counter, key, counted), change in changes.items():
            if counter is tally.counter and change:
                rows.setdefault(key, dict.fromkeys(tally.counts, 0))[counted] = change
        if not rows:
            continue
        session.connection().execute(_upsert(tally, dialect_name(session)),
                                     [dict(zip(tally.key, key)) | rows[key] for key in sorted(rows)])


@functools.cache
def _upsert(tally: Tally, dialect: str) -> Any:
    """`n = n + change` for each counted column, built once per tally and database kind."""
    upsert = conflict_insert(dialect, tally.counter)
    return upsert.on_conflict_do_update(
        index_elements=list(tally.key),
        set_={counted: tally.counter.__table__.c[counted] + upsert.excluded[counted] for counted in tally.counts},
    )


def _back_to(session: Session, changes: Counter[tuple[type[Base], Key, str]]) -> None:
    """A rolled-back savepoint takes back the changes made since it began."""
    session.info[_CHANGES] = Counter(changes)


_KEPT = Pending("counter_savepoints", mark=lambda session: Counter(session.info.get(_CHANGES, Counter())), back_to=_back_to,
                forget=lambda session: session.info.pop(_CHANGES, None))


def install(factory: sessionmaker[Session]) -> None:
    """Count in every session the factory makes; install after the audit log, so counts are
    written after the block is sealed."""
    event.listen(factory, "after_flush", _count_flush)
    event.listen(factory, "before_commit", _write)
    _KEPT.install(factory)


# --- checking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    table: str
    key: Key
    column: str
    stored: int
    counted: int


Counts = dict[Key, dict[str, int]]


def recount(session: Session, tally: Tally) -> Counts:
    """Count afresh from the source table."""
    source = tally.source.__table__
    sums = [func.sum(when((tally.condition(counted), 1), else_=0)) for counted in tally.counts]
    rows = session.execute(select(*(source.c[c] for c in tally.key), *sums).group_by(*(source.c[c] for c in tally.key)))
    return _nonzero({tuple(row[: len(tally.key)]): dict(zip(tally.counts, map(int, row[len(tally.key):]))) for row in rows})


def stored(session: Session, tally: Tally) -> Counts:
    table = tally.counter.__table__
    rows = session.execute(select(*(table.c[c] for c in tally.key), *(table.c[c] for c in tally.counts)))
    return _nonzero({tuple(row[: len(tally.key)]): dict(zip(tally.counts, row[len(tally.key):])) for row in rows})


def _nonzero(counts: Counts) -> Counts:
    return {key: values for key, values in counts.items() if any(values.values())}


def check(session: Session) -> list[Drift]:
    """Every count that differs from a recount. On PostgreSQL, run it in one snapshot
    (`consistent_snapshot`), so that changes committing meanwhile are seen in both or neither."""
    drifts = []
    for tally in TALLIES:
        have, want = stored(session, tally), recount(session, tally)
        zero = dict.fromkeys(tally.counts, 0)
        for key in sorted(have.keys() | want.keys(), key=repr):
            for counted in tally.counts:
                kept, counted_now = have.get(key, zero)[counted], want.get(key, zero)[counted]
                if kept != counted_now:
                    drifts.append(Drift(str(tally.counter.__tablename__), key, counted, kept, counted_now))
    return drifts


def consistent_snapshot(session: Session) -> None:
    """Make the session's transaction read one snapshot throughout (call before anything else).
    SQLite's read transactions already do."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def repair(session: Session) -> list[Drift]:
    """Rewrite every count from a recount; returns what was wrong. On PostgreSQL the counter
    tables are locked first, so transactions committing meanwhile wait and then add their
    changes to the repaired counts."""
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(tally.counter.__tablename__ for tally in TALLIES)
        session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    drifts = check(session)
    for tally in TALLIES:
        session.execute(delete(tally.counter))
        rows = [dict(zip(tally.key, key)) | values for key, values in recount(session, tally).items()]
        if rows:
            session.execute(insert(tally.counter), rows)
    return drifts
