"""The inputs routing and rules see for an event, read from the database in one batch.

An event is a report being filed, new signals on a subject, or a synchronous check. Its inputs
are the `RULE_SCHEMA` variables: the event, its subject, the policy, the subject's latest
signals, the text banks its text matched, and the history of the subject's account *as of now*
(counts over time windows, including the event's own report). They are stored with each
evaluation, so a backtest replays the history as it was, not as it is today.

History is per account: a content item counts under the account that owns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import Session, aliased

from trustdesk.analysis.signals import LatestSignal, as_routing, latest_signals
from trustdesk.domain.decision_trees import VIOLATION
from trustdesk.text_banks.matcher import TextBankMatcher
from trustdesk.store.database import Database
from trustdesk.store.dialects import InIds
from trustdesk.store.models import AccountEvent, App, Decision, MediaItem, Report, Strike, Subject, as_utc

NO_POLICY = {"code": "", "severity": 0, "graphic": False}
_LINKS = (AccountEvent.device_id, AccountEvent.payment_fingerprint, AccountEvent.phone_hash)


@dataclass(frozen=True)
class Event:
    """What happened to a subject, as the rules see it."""

    subject_id: int
    type: str  # report, signals, evaluate
    source: str = ""  # the reporter type for a report
    text: str = ""
    imminent_harm: bool = False
    policy: Any = None  # a Policy row (code, severity, graphic), or None
    report_id: int | None = None


# Built once and run on the session's connection, past the ORM step: every event of the worker
# and every synchronous check reads them. `ids` is bound as one parameter.
_MEDIA_COUNT = select(func.count()).where(MediaItem.subject_id == Subject.id).scalar_subquery().label("media_count")
_SUBJECTS = select(Subject.id, Subject.kind, Subject.language, Subject.country, Subject.title, Subject.text,
                   Subject.account_id, App.slug, _MEDIA_COUNT).join(App, App.id == Subject.app_id).where(InIds(Subject.id))


def _related_accounts(link: Any) -> Any:
    """Pairs of accounts that share a value of `link` (a device, a payment card, a phone)."""
    other = aliased(AccountEvent)
    theirs = getattr(other, link.key)
    return (select(AccountEvent.account_id, other.account_id).distinct()
            .join(other, and_(theirs == link, other.account_id != AccountEvent.account_id))
            .where(InIds(AccountEvent.account_id), link.is_not(None)))


_CREATED = select(Subject.id, Subject.created_at, Subject.received_at).where(InIds(Subject.id))
_REPORTS = (select(Subject.account_id, func.sum(case((Report.received_at >= bindparam("day"), 1), else_=0)), func.count())
            .select_from(Report).join(Subject, Subject.id == Report.subject_id)
            .where(InIds(Subject.account_id), Report.received_at >= bindparam("week")).group_by(Subject.account_id))
_VIOLATIONS = (select(Subject.account_id, func.count()).select_from(Decision).join(Subject, Subject.id == Decision.subject_id)
               .where(InIds(Subject.account_id), Decision.verdict == VIOLATION, Decision.created_at >= bindparam("month"))
               .group_by(Subject.account_id))
_STRIKES = (select(Strike.account_id, func.count())
            .where(InIds(Strike.account_id), Strike.revoked_at.is_(None), Strike.expires_at > bindparam("now"))
            .group_by(Strike.account_id))
_RELATED = [_related_accounts(link) for link in _LINKS]


def build_inputs(session: Session, events: Sequence[Event], now: datetime, *,
                 signals: dict[int, list[LatestSignal]] | None = None) -> list[dict[str, Any]]:
    """The inputs of each event, in order. `signals` may be given when the caller has read them.
    Text banks are matched by this process's matcher of the session's database."""
    ids = {e.subject_id for e in events}
    session.flush()  # what the ORM holds is written before reading past it
    connection = session.connection()
    subjects = {s.id: s for s in connection.execute(_SUBJECTS, {"ids": list(ids)}).all()}  # fetched at once: a thousand rows
    found = signals if signals is not None else latest_signals(session, ids)
    histories = history(session, {s.account_id for s in subjects.values() if s.account_id is not None}, now)
    database: Database | None = session.info.get("database")
    text_banks = database.shared(TextBankMatcher) if database is not None else None
    inputs = []
    for event in events:
        s = subjects[event.subject_id]
        text = "\n".join(part for part in (s.title, s.text) if part)
        banks = sorted(text_banks.matched(text, app=s.slug, language=s.language)) if text_banks and text else []
        inputs.append({
            "event": {"type": event.type, "policy": event.policy.code if event.policy else "", "source": event.source,
                      "text": event.text, "imminent_harm": event.imminent_harm},
            "subject": {"kind": s.kind, "app": s.slug, "language": s.language or "", "country": s.country or "",
                        "title": s.title or "", "text": s.text or "", "media_count": s.media_count},
            "policy": ({"code": event.policy.code, "severity": event.policy.severity, "graphic": bool(event.policy.graphic)}
                       if event.policy else dict(NO_POLICY)),
            "signals": as_routing(found.get(event.subject_id, [])),
            "history": histories.get(s.account_id, _EMPTY_HISTORY) if s.account_id is not None else _EMPTY_HISTORY,
            "text_banks": banks,
        })
    return inputs


_EMPTY_HISTORY = {"account_age_days": -1, "reports_24h": 0, "reports_7d": 0, "violations_30d": 0,
                  "active_strikes": 0, "related_accounts": 0}


def history(session: Session, account_ids: set[int], now: datetime) -> dict[int, dict[str, int]]:
    """Each account's history as of `now`; `account_age_days` is −1 when the account is not known."""
    if not account_ids:
        return {}
    ids = sorted(account_ids)
    result = {a: dict(_EMPTY_HISTORY) for a in ids}
    connection = session.connection()
    for account_id, created, received in connection.execute(_CREATED, {"ids": ids}):
        result[account_id]["account_age_days"] = max(0, (now - as_utc(created or received)).days)
    windows = {"ids": ids, "day": now - timedelta(days=1), "week": now - timedelta(days=7), "month": now - timedelta(days=30), "now": now}
    for account_id, last_day, last_week in connection.execute(_REPORTS, windows):
        result[account_id].update(reports_24h=int(last_day or 0), reports_7d=int(last_week))
    for account_id, count in connection.execute(_VIOLATIONS, windows):
        result[account_id]["violations_30d"] = int(count)
    for account_id, count in connection.execute(_STRIKES, windows):
        result[account_id]["active_strikes"] = int(count)
    related: dict[int, set[int]] = {}
    for statement in _RELATED:
        for account_id, related_id in connection.execute(statement, {"ids": ids}):
            related.setdefault(account_id, set()).add(related_id)
    for account_id, others in related.items():
        result[account_id]["related_accounts"] = len(others)
    return result
