"""Text banks in the database: created, edited, filled from lists, emptied one entry at a time.

Every change bumps the bank's `revision` first, in the same transaction: that is what each
process's matcher watches (`trustdesk.text_banks.matcher`), and the row lock it takes makes two
imports into one bank take turns, so the limit on entries holds. Adding is
`INSERT … ON CONFLICT DO NOTHING` on the live-row unique index: an import run twice adds nothing
the second time, and two staff adding the same word at once add it once. Removal is soft.
Each change is one audit event; an import is one event with its count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import re2
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.delivery.endpoints import app_named
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.text_banks import TextBankKind, TextBankSpec, TextEntry, check_bank, entry, entry_limit
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import App, TextBank, TextBankEntry, utcnow
from trustdesk.text_banks.matcher import pattern_set

LIVE = TextBankEntry.removed_at.is_(None)


@dataclass(frozen=True)
class TextBankSummary:
    bank: TextBank
    app: str | None  # the app's slug; None: every app
    entries: int  # live ones


def create_bank(session: Session, actor: Actor, spec: TextBankSpec) -> TextBank:
    spec = check_bank(spec)
    app_id = app_named(session, spec.app).id if spec.app else None
    now = utcnow()
    insert = (conflict_insert(session, TextBank)
              .values(name=spec.name, kind=spec.kind, app_id=app_id, language=spec.language, description=spec.description,
                      active=True, revision=1, created_at=now, updated_at=now)
              .on_conflict_do_nothing(index_elements=["name"]).returning(TextBank.id))
    bank_id = session.execute(insert).scalar_one_or_none()
    if bank_id is None:
        raise Conflict("name", f"another text bank is called {spec.name!r}")
    bank = session.get_one(TextBank, bank_id)
    record(session, actor=actor, verb="text_bank.created", object_type="text_bank", object_id=bank.id,
           after=_settings(bank, spec.app))
    return bank


def _settings(bank: TextBank, app: str | None) -> dict[str, object]:
    return {"name": bank.name, "kind": bank.kind, "app": app, "language": bank.language,
            "description": bank.description, "active": bank.active}


def update_bank(session: Session, actor: Actor, bank: TextBank, *, app: str | None, language: str | None,
                description: str, active: bool) -> TextBank:
    """Change where a bank applies, its description or its state. Its name and kind stay: rules
    name it, and its entries were checked for its kind."""
    spec = check_bank(TextBankSpec(bank.name, bank.kind, app, language, description))
    app_id = app_named(session, spec.app).id if spec.app else None
    _bump(session, bank)
    before = _settings(bank, _app_slug(session, bank))
    bank.app_id, bank.language, bank.description, bank.active = app_id, spec.language, spec.description, active
    session.flush()
    record(session, actor=actor, verb="text_bank.edited", object_type="text_bank", object_id=bank.id,
           before=before, after=_settings(bank, spec.app))
    return bank


def _app_slug(session: Session, bank: TextBank) -> str | None:
    return session.get_one(App, bank.app_id).slug if bank.app_id is not None else None


def _bump(session: Session, bank: TextBank) -> None:
    """Mark the bank changed for every matcher, and hold its row until the transaction ends."""
    session.execute(update(TextBank).where(TextBank.id == bank.id)
                    .values(revision=TextBank.revision + 1, updated_at=utcnow()))
    session.refresh(bank)


def bank_named(session: Session, name: str) -> TextBank:
    bank = session.execute(select(TextBank).where(TextBank.name == name)).scalar_one_or_none()
    if bank is None:
        raise NotFound("bank", f"no text bank {name!r}")
    return bank


def _live_count(session: Session, bank: TextBank) -> int:
    return session.execute(select(func.count()).where(TextBankEntry.bank_id == bank.id, LIVE)).scalar_one()


def list_banks(session: Session) -> list[TextBankSummary]:
    """Every bank by name, with its app and its live entries counted."""
    counts = dict(session.execute(
        select(TextBankEntry.bank_id, func.count()).where(LIVE).group_by(TextBankEntry.bank_id)).all())
    rows = session.execute(select(TextBank, App.slug).outerjoin(App, App.id == TextBank.app_id).order_by(TextBank.name))
    return [TextBankSummary(bank, slug, counts.get(bank.id, 0)) for bank, slug in rows]


def summary(session: Session, bank: TextBank) -> TextBankSummary:
    return TextBankSummary(bank, _app_slug(session, bank), _live_count(session, bank))


def entries_of(session: Session, bank: TextBank) -> list[TextBankEntry]:
    """The bank's live entries, alphabetically."""
    return list(session.execute(
        select(TextBankEntry).where(TextBankEntry.bank_id == bank.id, LIVE).order_by(TextBankEntry.value)).scalars())


def add_entries(session: Session, actor: Actor, bank: TextBank, entries: Sequence[TextEntry], *, source: str) -> int:
    """Add the entries not already live in the bank; returns how many were new. The entries are
    checked for the bank's kind by `domain.text_banks.entry` or `parse_lines`. Past the bank's
    limit nothing is added."""
    _bump(session, bank)
    values = {e.value for e in entries}
    live = _live_count(session, bank)
    if live + len(values) > entry_limit(bank.kind):
        present = session.execute(select(func.count()).where(
            TextBankEntry.bank_id == bank.id, LIVE, TextBankEntry.value.in_(values))).scalar_one()
        if live + len(values) - present > entry_limit(bank.kind):
            raise FieldError("entries", f"bank {bank.name!r} holds {live} entries and may hold {entry_limit(bank.kind)}: "
                                        f"{len(values) - present} more are too many")
    if bank.kind == TextBankKind.REGEX:
        _check_together(session, bank, values)
    table = TextBankEntry.__table__
    insert = (conflict_insert(session, table)
              .on_conflict_do_nothing(index_elements=["bank_id", "value"], index_where=LIVE)
              .returning(table.c.id))
    now = utcnow()
    rows = [{"bank_id": bank.id, "value": e.value, "note": e.note, "created_at": now} for e in entries]
    added = len(session.execute(insert, rows).scalars().all()) if rows else 0
    record(session, actor=actor, verb="text_bank.entries_added", object_type="text_bank", object_id=bank.id,
           after={"source": source, "added": added})
    return added


def _check_together(session: Session, bank: TextBank, values: set[str]) -> None:
    """Refuse patterns that each compile but that RE2 cannot hold in one set with the bank's others."""
    held = session.execute(select(TextBankEntry.value).where(TextBankEntry.bank_id == bank.id, LIVE)).scalars().all()
    try:
        pattern_set(bank.kind, sorted(values.union(held)))
    except re2.error:
        raise FieldError("entries", f"RE2 cannot hold these patterns in one set with the {len(held)} of bank {bank.name!r}: "
                                    "make them simpler or fewer") from None


def remove_entry(session: Session, actor: Actor, bank: TextBank, value: str) -> TextBankEntry:
    """Take an entry out of the bank (kept as a removed row); every matcher drops it within a second."""
    wanted = entry(bank.kind, value).value
    row = session.execute(select(TextBankEntry).where(
        TextBankEntry.bank_id == bank.id, TextBankEntry.value == wanted, LIVE).with_for_update()).scalar_one_or_none()
    if row is None:
        raise NotFound("value", f"{wanted[:80]!r} is not in text bank {bank.name!r}")
    _bump(session, bank)
    row.removed_at = utcnow()
    session.flush()
    record(session, actor=actor, verb="text_bank.entry_removed", object_type="text_bank", object_id=bank.id,
           before={"id": row.id, "value": row.value, "note": row.note})
    return row
