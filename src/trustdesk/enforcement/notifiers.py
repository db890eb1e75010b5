"""Reporter trust, and the DSA Art. 23(2) measures against manifestly unfounded notices.

Every decision judges the notices it closes as founded or unfounded, counted per notifier.
The counts feed the priority score (`standing`) and, when a notifier keeps sending notices
that are manifestly unfounded, a graduated response that always warns first:

    warn → (5 more unfounded) deprioritise for 30 days → (5 more) suspend for 30 days

"Manifestly unfounded" is read as: at least MIN_JUDGED notices judged, of which at least
UNFOUNDED_SHARE were unfounded. A suspended notifier's notices are still accepted and recorded
(the notice-and-action duty stays), but not queued for review: routing holds them back when
`standing` says `suspended`. `reinstate` lifts every measure and starts the ladder again from a
warning.

A notifier is known by a key: the pseudonymous `personal_data.notifier_ref` of the notice
email (trusted flaggers and other email notifiers), else `account:<subject id>` of the
reporting user; anonymous notices have no key and are not counted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import Conflict, NotFound
from trustdesk.domain.priority import NotifierStanding
from trustdesk.domain.vocabulary import ReporterType
from trustdesk.store.models import NotifierRecord, Report, as_utc, utcnow

MIN_JUDGED = 10  # judged notices before a pattern is "frequent"
UNFOUNDED_SHARE = 0.8  # share of them found unfounded that makes the pattern "manifest"
MORE_AFTER_MEASURE = 5  # further unfounded notices after a measure before the next step
MEASURE_PERIOD = timedelta(days=30)  # how long deprioritisation and suspension last
MEASURE_ACTOR = Actor("system", "notifier-trust")


class Measure(StrEnum):
    NONE = "none"
    WARNED = "warned"
    DEPRIORITISED = "deprioritised"
    SUSPENDED = "suspended"




def next_measure(founded: int, unfounded: int, stage: Measure, unfounded_since_stage: int) -> Measure:
    """The measure a notifier's record calls for now (pure; NONE if nothing changes).

    `stage` is the last measure taken (NONE: never, or reinstated since) and
    `unfounded_since_stage` how many unfounded notices came after it.
    """
    judged = founded + unfounded
    if judged < MIN_JUDGED or unfounded < UNFOUNDED_SHARE * judged:
        return Measure.NONE
    if stage is Measure.NONE:
        return Measure.WARNED
    if unfounded_since_stage < MORE_AFTER_MEASURE:
        return Measure.NONE
    return Measure.DEPRIORITISED if stage is Measure.WARNED else Measure.SUSPENDED


def stage_of(row: NotifierRecord) -> Measure:
    if row.suspended_until is not None:
        return Measure.SUSPENDED
    if row.deprioritised_until is not None:
        return Measure.DEPRIORITISED
    return Measure.WARNED if row.warned_at is not None else Measure.NONE


def notifier_key(report: Report) -> str | None:
    if report.reporter_type == ReporterType.ANONYMOUS:
        return None
    if report.notifier_email:
        return personal_data.notifier_ref(report.notifier_email)
    return f"account:{report.reporter_subject_id}" if report.reporter_subject_id else None


def record_outcome(session: Session, actor: Actor, reports: Iterable[Report], founded: bool) -> dict[str, Measure]:
    """Count the judged notices per notifier; returns the measures this took, by key."""
    counts: dict[str, int] = {}
    apps: dict[str, int] = {}
    for report in reports:
        if key := notifier_key(report):
            counts[key] = counts.get(key, 0) + 1
            apps.setdefault(key, report.app_id)
    if not counts:
        return {}
    _ensure_records(session, apps)
    rows = session.execute(
        select(NotifierRecord).where(NotifierRecord.key.in_(list(counts))).order_by(NotifierRecord.key).with_for_update()
    ).scalars()
    now = utcnow()
    taken: dict[str, Measure] = {}
    for row in rows:
        before = _counts(row)
        if founded:
            row.founded += counts[row.key]
        else:
            row.unfounded += counts[row.key]
        row.updated_at = now
        record(session, actor=actor, verb="notifier.judged", object_type="notifier", object_id=row.key, before=before, after=_counts(row))
        stage = stage_of(row)
        since = row.unfounded - row.unfounded_at_measure if stage is not Measure.NONE else 0
        measure = next_measure(row.founded, row.unfounded, stage, since)
        if measure is not Measure.NONE:
            _take(session, row, measure, now)
            taken[row.key] = measure
    return taken


def _ensure_records(session: Session, apps: dict[str, int]) -> None:
    """Create missing records; ON CONFLICT so two decisions meeting a new notifier both succeed."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    rows = [{"key": key, "app_id": app_id, "founded": 0, "unfounded": 0, "unfounded_at_measure": 0, "updated_at": now} for key, app_id in apps.items()]
    session.execute(dialect.insert(NotifierRecord).values(rows).on_conflict_do_nothing(index_elements=["key"]))


def _take(session: Session, row: NotifierRecord, measure: Measure, now: datetime) -> None:
    before = _measures(row)
    if measure is Measure.WARNED:
        row.warned_at = now
    elif measure is Measure.DEPRIORITISED:
        row.deprioritised_until = now + MEASURE_PERIOD
    else:
        row.suspended_until = now + MEASURE_PERIOD
    row.unfounded_at_measure = row.unfounded
    record(
        session, actor=MEASURE_ACTOR, verb=f"notifier.{measure.value}", object_type="notifier", object_id=row.key,
        before=before, after=_measures(row) | _counts(row),
    )


def reinstate(session: Session, actor: Actor, key: str) -> NotifierRecord:
    """Lift every measure; a notifier who carries on is warned again before anything else."""
    row = session.get(NotifierRecord, key, with_for_update=True)
    if row is None:
        raise NotFound("key", f"no notifier {key!r}")
    if stage_of(row) is Measure.NONE:
        raise Conflict("key", f"notifier {key!r} is under no measure")
    before = _measures(row)
    row.warned_at = row.deprioritised_until = row.suspended_until = None
    row.updated_at = utcnow()
    record(session, actor=actor, verb="notifier.reinstated", object_type="notifier", object_id=key, before=before, after=_measures(row))
    return row


def standing(session: Session, keys: Collection[str], now: datetime | None = None) -> dict[str, NotifierStanding]:
    """Every key's standing for the priority score, in one query; unknown keys get the default.

    `trusted_flagger` is a property of the notice (its reporter type), not of the record: the
    caller sets it with `dataclasses.replace`. A suspended notifier also scores as deprioritised,
    for its notices that were already in a case when the suspension began.
    """
    if not keys:  # reports by no one known: automated ones, anonymous ones
        return {}
    at = now or utcnow()
    rows = session.execute(
        select(NotifierRecord.key, NotifierRecord.founded, NotifierRecord.unfounded,
               NotifierRecord.deprioritised_until, NotifierRecord.suspended_until)
        .where(NotifierRecord.key.in_(list(set(keys))))
    )
    found = {
        r.key: NotifierStanding(
            founded=r.founded, unfounded=r.unfounded,
            deprioritised=_until(r.deprioritised_until, at) or _until(r.suspended_until, at),
            suspended=_until(r.suspended_until, at),
        )
        for r in rows
    }
    return {key: found.get(key, NotifierStanding()) for key in keys}


def _until(value: datetime | None, now: datetime) -> bool:
    return value is not None and as_utc(value) > now


def _counts(row: NotifierRecord) -> dict[str, Any]:
    return {"founded": row.founded, "unfounded": row.unfounded}


def _measures(row: NotifierRecord) -> dict[str, Any]:
    return {"warned_at": row.warned_at, "deprioritised_until": row.deprioritised_until, "suspended_until": row.suspended_until}
