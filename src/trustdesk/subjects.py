"""Reading a subject with what surrounds it: parent, children, reports and history.

Personal fields (email, phone, name) are not part of this view, and neither are the
identifiers an account's events carry (IP, device id, payment fingerprint, phone hash); the
console reveals both one subject at a time through `reveal_personal`, which is audited.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor, record
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.store import keyset
from trustdesk.store.models import AccountEvent, AuditEvent, MediaItem, Policy, Report, Subject

LIST_LIMIT = 200
# Identifiers in account events that link accounts to each other; personal data, like an email.
LINK_FIELDS = ("device_id", "ip", "payment_fingerprint", "phone_hash")
_EVENTS_READ = 500
# Every page and API answer that shows a subject lists its media items with their hashes.
WITH_MEDIA = selectinload(Subject.media_items).selectinload(MediaItem.hashes)


@dataclass
class SubjectTree:
    subject: Subject
    parent: Subject | None
    children: list[Subject]
    reports: list[Report]
    history: list[AuditEvent]


def find(session: Session, app_id: int, external_id: str) -> Subject | None:
    return session.execute(select(Subject).where(Subject.app_id == app_id, Subject.external_id == external_id)).scalar_one_or_none()


def owner_ref(subject: Subject) -> str | None:
    owner = subject.id if subject.kind == SubjectKind.ACCOUNT else subject.account_id
    return personal_data.account_ref(owner) if owner else None


def load_tree(session: Session, subject: Subject) -> SubjectTree:
    parent = session.get(Subject, subject.parent_id, options=[WITH_MEDIA]) if subject.parent_id else None
    children = session.execute(
        select(Subject).where(Subject.parent_id == subject.id).options(WITH_MEDIA).order_by(Subject.id).limit(LIST_LIMIT)
    ).scalars().all()
    reports = session.execute(
        select(Report).where(Report.subject_id == subject.id).order_by(Report.id.desc()).limit(LIST_LIMIT)
    ).scalars().all()
    history = session.execute(
        select(AuditEvent)
        .where(AuditEvent.object_type == "subject", AuditEvent.object_id == str(subject.id))
        .order_by(AuditEvent.id.desc())
        .limit(LIST_LIMIT)
    ).scalars().all()
    return SubjectTree(subject, parent, list(children), list(reports), list(history))


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # None: the field was not there before (or the event has no before)
    after: str


@dataclass(frozen=True)
class HistoryLine:
    """One audit event about a subject, as a person reads it."""

    at: datetime
    actor: str
    action: str
    changes: list[Change]


_LONG = 120
_HIDDEN = "personal data (hidden)"


def _readable(value: Any) -> str:
    """A value of an audit payload in words: encrypted ones say so, long text is cut."""
    if isinstance(value, dict) and "$enc" in value:
        return _HIDDEN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        text = ", ".join(f"{k.replace('_', ' ')}: {_readable(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    elif isinstance(value, list):
        text = ", ".join(_readable(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= _LONG else text[: _LONG - 1] + "…"


_WITHHELD = [Change("details", None, "about an item you may not see")]


def history_lines(events: list[AuditEvent], withheld: Collection[int] = ()) -> list[HistoryLine]:
    """Audit events as lines a reviewer can read: what happened, who did it, what changed. The
    events in `withheld` (ids) say what happened and who did it, not what changed."""
    lines = []
    for e in events:
        before, after = e.before or {}, e.after or {}
        changes = _WITHHELD if e.id in withheld else [
            Change(name.replace("_", " "), _readable(before[name]) if name in before else None, _readable(value))
            for name, value in after.items() if value not in (None, "", [], {})]
        action = e.verb.split(".", 1)[-1].replace("_", " ")
        lines.append(HistoryLine(e.at, f"{e.actor_type} {e.actor_id}", action, changes))
    return lines


@dataclass(frozen=True)
class TimelineEvent:
    """An account event (login, registration, purchase, …) with a short summary; its identifiers
    are personal data, so only the kinds present are named."""

    id: int
    at: datetime
    kind: str
    summary: str
    identifiers: list[str]


_TIMELINE = (keyset.Key(AccountEvent.occurred_at, descending=True), keyset.Key(AccountEvent.id, descending=True))


def account_timeline(session: Session, account_id: int, after: str | None, limit: int = 25) -> tuple[list[TimelineEvent], str | None]:
    """A page of an account's events, newest first, and the cursor of the next (older) page.

    `after` is a cursor from an earlier page (client input: a bad one is a FieldError naming `events_after`).
    """
    query = select(AccountEvent).where(AccountEvent.account_id == account_id)
    if after is not None:
        query = query.where(keyset.beyond(_TIMELINE, keyset.decode(after, "timeline", _TIMELINE, "events_after")))
    rows = session.execute(query.order_by(*keyset.order_by(_TIMELINE)).limit(limit + 1)).scalars().all()
    more = keyset.encode("timeline", _TIMELINE, rows[limit - 1]) if len(rows) > limit else None
    return [_timeline_event(e) for e in rows[:limit]], more


def _timeline_event(e: AccountEvent) -> TimelineEvent:
    parts = []
    if e.amount_cents is not None:
        parts.append(f"{e.amount_cents / 100:,.2f} {e.currency or ''}".strip())
    parts += [f"{k.replace('_', ' ')}: {_readable(v)}" for k, v in list(e.attributes.items())[:6]]
    present = [name.replace("_", " ") for name in LINK_FIELDS if getattr(e, name)]
    return TimelineEvent(e.id, e.occurred_at, e.kind.replace("_", " "), _readable(" · ".join(parts)) if parts else "", present)


def redacted(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """An audit payload with encrypted values shown as such, for history listings."""
    if payload is None:
        return None
    return {k: ("[personal data]" if isinstance(v, dict) and "$enc" in v else v) for k, v in payload.items()}


def is_sensitive_media(session: Session, subject: Subject) -> bool:
    """Media reported under a graphic or child-safety policy: opening it is an audited read."""
    return session.execute(
        select(Report.id)
        .join(Policy, (Policy.code == Report.policy_code) & Policy.is_current.is_(True))
        .where(Report.subject_id == subject.id, (Policy.graphic.is_(True)) | (Policy.ncmec_incident_type.is_not(None)))
        .limit(1)
    ).first() is not None


def media_item(session: Session, subject_id: int, item_id: int | None) -> MediaItem | None:
    """One media item of a subject, or with no id its first; None where there is none."""
    query = select(MediaItem).where(MediaItem.subject_id == subject_id)
    query = query.where(MediaItem.id == item_id) if item_id is not None else query.order_by(MediaItem.position).limit(1)
    return session.execute(query).scalar_one_or_none()


def open_media(session: Session, actor: Actor, subject: Subject, item: MediaItem) -> bool:
    """Record the opening of sensitive media; returns whether it was sensitive."""
    sensitive = is_sensitive_media(session, subject)
    if sensitive:
        record(
            session, actor=actor, verb="subject.sensitive_media_opened", object_type="subject", object_id=subject.id,
            after={"media_item_id": item.id, "media_sha256": item.blob_sha256},
        )
    return sensitive


def account_identifiers(session: Session, account: Subject) -> dict[str, list[str]]:
    """The identifiers seen in an account's (latest) events, by kind; only kinds with a value."""
    found: dict[str, set[str]] = {}
    for event in session.execute(
        select(*(getattr(AccountEvent, f) for f in LINK_FIELDS)).where(AccountEvent.account_id == account.id)
        .order_by(AccountEvent.id.desc()).limit(_EVENTS_READ)
    ):
        for name, value in zip(LINK_FIELDS, event):
            if value:
                found.setdefault(name, set()).add(value)
    return {name: sorted(found[name]) for name in LINK_FIELDS if name in found}


def hidden_personal_fields(session: Session, subject: Subject) -> list[str]:
    """The names of what `reveal_personal` would show, for the "hidden" notice."""
    identifiers = account_identifiers(session, subject) if subject.kind == SubjectKind.ACCOUNT else {}
    return [*subject.personal, *identifiers]


def reveal_personal(session: Session, actor: Actor, subject: Subject, reason: str) -> dict[str, Any]:
    """Show a subject's personal fields, and an account's identifiers; the read itself is audited."""
    identifiers = account_identifiers(session, subject) if subject.kind == SubjectKind.ACCOUNT else {}
    record(
        session, actor=actor, verb="subject.personal_revealed", object_type="subject", object_id=subject.id,
        after={"fields": sorted([*subject.personal, *identifiers]), "reason": reason},
    )
    return dict(subject.personal) | identifiers
