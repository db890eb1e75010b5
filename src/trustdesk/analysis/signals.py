"""Signals in the database: the views analysers read, storing what they found, reading it back.

Storing is idempotent: each signal is inserted with ON CONFLICT DO NOTHING on its unique key
(subject, analyser, label, model version, content hash), so a job run twice, or an analyser
re-run on unchanged content, adds no row; only really new signals are returned, and only they
re-score a case. Routing and priority read a subject's *latest* signal per (analyser, label).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, exists, select
from sqlalchemy.orm import Session

from trustdesk.analysis.analysers import Analyser, MediaView, SignalFound, SubjectView
from trustdesk.store.dialects import InIds, JsonRows, dialect_name, insert_from_json, json_rows
from trustdesk.store.models import MediaHash, MediaItem, Report, Signal, Subject, UtcDateTime, utcnow

SHOWN_LIMIT = 200


# Built once (`ids` is bound as one parameter) and run on the session's connection, past the
# ORM: the worker and every synchronous check read them, and building a statement and its ORM
# step cost more than running it. There is no autoflush there: the readers flush once themselves.
# Their rows are fetched at once with .all(): iterating a result fetches them one by one.
_MEDIA_OF = (
    select(MediaItem.id, MediaItem.subject_id, MediaItem.kind, MediaItem.content_type, MediaItem.blob_sha256,
           MediaHash.algorithm, MediaHash.value)
    .outerjoin(MediaHash, MediaHash.media_item_id == MediaItem.id)
    .where(InIds(MediaItem.subject_id)).order_by(MediaItem.subject_id, MediaItem.position)
)
_SUBJECTS = (
    select(Subject.id, Subject.app_id, Subject.kind, Subject.title, Subject.text, Subject.language, Subject.body_hash,
           exists().where(Report.subject_id == Subject.id).label("reported"))
    .where(InIds(Subject.id)).order_by(Subject.id)
)
_SIGNALS_OF = (
    select(Signal.id, Signal.subject_id, Signal.analyser, Signal.label, Signal.score, Signal.match)
    .where(InIds(Signal.subject_id)).order_by(Signal.id)
)


def subject_views(session: Session, subject_ids: Iterable[int]) -> list[SubjectView]:
    """Frozen copies of the subjects (those that exist), with their media and hashes, in id order.
    Read as rows, not ORM objects: this runs on every batch the worker analyses."""
    ids = {"ids": list(subject_ids)}
    session.flush()  # a subject changed through the ORM (an update) is read as changed
    hashes: dict[int, dict[str, str]] = defaultdict(dict)
    media: dict[int, list[MediaView]] = defaultdict(list)
    rows = session.connection().execute(_MEDIA_OF, ids).all()
    for row in rows:
        if row.algorithm is not None:
            hashes[row.id][row.algorithm] = row.value
    seen: set[int] = set()
    for row in rows:
        if row.id not in seen:
            seen.add(row.id)
            media[row.subject_id].append(MediaView(row.id, row.kind, row.content_type, row.blob_sha256, hashes[row.id]))
    return [
        SubjectView(id=s.id, app_id=s.app_id, kind=s.kind, title=s.title, text=s.text, language=s.language,
                    body_hash=s.body_hash, media=tuple(media.get(s.id, ())), reported=bool(s.reported))
        for s in session.connection().execute(_SUBJECTS, ids).all()
    ]


def encoded(dialect: str, found: Iterable[tuple[SubjectView, list[SignalFound]]]) -> JsonRows | None:
    """What an analyser found on each subject, as the rows `store` takes (encoded before the
    write transaction); None when it found nothing."""
    rows = [
        {"subject_id": subject.id, "label": signal.label, "score": signal.score, "match": signal.match,
         "evidence": signal.evidence, "content_hash": subject.content_hash}
        for subject, signals in found for signal in signals
    ]
    return json_rows(dialect, Signal.__table__, rows) if rows else None


def store(session: Session, analyser: Analyser, rows: JsonRows | None) -> list[tuple[int, int]]:
    """Insert what `analyser` found (`encoded`), in one statement; (signal id, subject id) of
    the signals that were new."""
    if rows is None:
        return []
    params = {**rows.params, "analyser": analyser.name, "model_version": analyser.version, "created_at": utcnow()}
    statement = _insert(dialect_name(session), rows.columns, rows.shared)
    return [(signal_id, subject_id) for signal_id, subject_id in session.connection().execute(statement, params).all()]


@functools.lru_cache(maxsize=64)
def _insert(dialect: str, columns: tuple[str, ...], shared: tuple[str, ...]) -> Any:
    """Insert signals, skipping any already stored; returns (id, subject id) of the new ones.
    The rows come as one JSON array: a batch has thousands."""
    statement = insert_from_json(
        dialect, Signal.__table__, columns, shared,
        analyser=bindparam("analyser", type_=String()), model_version=bindparam("model_version", type_=String()),
        created_at=bindparam("created_at", type_=UtcDateTime()),
    ).on_conflict_do_nothing(index_elements=["subject_id", "analyser", "label", "model_version", "content_hash"])
    return statement.returning(Signal.__table__.c.id, Signal.__table__.c.subject_id)


class LatestSignal(NamedTuple):
    """A subject's latest signal for one (analyser, label), as routing and priority read it (a
    tuple: the worker reads thousands a batch)."""

    id: int
    analyser: str
    label: str
    score: float | None
    match: str | None


def latest_signals(session: Session, subject_ids: Iterable[int]) -> dict[int, list[LatestSignal]]:
    """Each subject's latest signal per (analyser, label): what routing and priority consider."""
    latest: dict[int, dict[tuple[str, str], LatestSignal]] = defaultdict(dict)
    ids = list(subject_ids)
    if not ids:
        return {}
    session.flush()
    for signal_id, subject_id, analyser, label, score, match in session.connection().execute(_SIGNALS_OF, {"ids": ids}).all():
        latest[subject_id][(analyser, label)] = LatestSignal(signal_id, analyser, label, score, match)
    return {subject_id: list(by_key.values()) for subject_id, by_key in latest.items()}


def as_routing(signals: Iterable[LatestSignal]) -> list[dict[str, Any]]:
    """Signals as CEL routing sees them: `analyser`, `label`, `score` (1.0 for a match without
    one) and `match` ("" when it is a score)."""
    return [{"analyser": s.analyser, "label": s.label, "score": 1.0 if s.score is None else s.score, "match": s.match or ""}
            for s in signals]


def signals_of(session: Session, subject_id: int) -> list[Signal]:
    """A subject's signals, newest first, as the case page lists them."""
    return list(session.execute(
        select(Signal).where(Signal.subject_id == subject_id).order_by(Signal.id.desc()).limit(SHOWN_LIMIT)
    ).scalars())
