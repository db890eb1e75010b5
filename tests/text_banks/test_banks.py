"""Text banks in the database: created once per name, filled idempotently, emptied softly,
each change audited and bumping the bank's revision."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.concurrency import together
from trustdesk.audit.log import Actor
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.text_banks import TextBankSpec, TextEntry, entry, parse_lines
from trustdesk.organisation import ensure_app
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, TextBank, TextBankEntry
from trustdesk.text_banks import banks
from trustdesk.text_banks.banks import add_entries, bank_named, create_bank, list_banks, remove_entry, update_bank

ACTOR = Actor("cli", "operator")


def test_import_twice_adds_once_and_removal_is_soft_and_audited(db: Database) -> None:
    listing = "bitcoin\nusdt\nsend me\nBitcoin\n"
    with db.session() as s:
        ensure_app(s, ACTOR, "dating", "Dating")
        bank = create_bank(s, ACTOR, TextBankSpec("crypto_scam", "keyword", "dating", "en"))
        assert add_entries(s, ACTOR, bank, parse_lines("keyword", listing).entries, source="file:list.txt") == 2
    with db.session() as s:
        assert add_entries(s, ACTOR, bank_named(s, "crypto_scam"), parse_lines("keyword", listing).entries,
                           source="file:list.txt") == 0
        with pytest.raises(Conflict):
            create_bank(s, ACTOR, TextBankSpec("crypto_scam", "phrase"))
    with db.session() as s:
        [summary] = list_banks(s)
        assert (summary.bank.name, summary.app, summary.bank.language, summary.entries) == ("crypto_scam", "dating", "en", 2)
        assert remove_entry(s, ACTOR, summary.bank, "BITCOIN").removed_at is not None
        with pytest.raises(NotFound):
            remove_entry(s, ACTOR, summary.bank, "ether")
    with db.session() as s:
        bank = bank_named(s, "crypto_scam")
        assert [e.value for e in banks.entries_of(s, bank)] == ["usdt"]
        # A removed value can come back, as a new row.
        assert add_entries(s, ACTOR, bank, [entry("keyword", "bitcoin")], source="manual") == 1
    with db.reader() as s:
        assert s.execute(select(TextBankEntry.value, TextBankEntry.removed_at.is_(None)).order_by(TextBankEntry.id)).all() == [
            ("bitcoin", False), ("usdt", True), ("bitcoin", True)]
        assert s.execute(select(TextBank.revision)).scalar_one() == 5
        events = s.execute(select(AuditEvent.verb, AuditEvent.after, AuditEvent.before).where(
            AuditEvent.object_type == "text_bank").order_by(AuditEvent.id)).all()
    assert [e.verb for e in events] == ["text_bank.created", "text_bank.entries_added", "text_bank.entries_added",
                                        "text_bank.entry_removed", "text_bank.entries_added"]
    assert events[0].after == {"name": "crypto_scam", "kind": "keyword", "app": "dating", "language": "en",
                               "description": "", "active": True}
    assert [e.after for e in events[1:3]] == [{"source": "file:list.txt", "added": 2}, {"source": "file:list.txt", "added": 0}]
    assert events[3].before["value"] == "bitcoin"


def test_a_bank_for_an_unknown_app_is_refused_and_editing_is_audited(db: Database) -> None:
    with db.session() as s:
        with pytest.raises(NotFound) as refused:
            create_bank(s, ACTOR, TextBankSpec("scam", "keyword", "nowhere"))
        assert refused.value.field == "app"
    with db.session() as s:
        ensure_app(s, ACTOR, "market", "Market")
        bank = create_bank(s, ACTOR, TextBankSpec("scam", "keyword"))
        with pytest.raises(FieldError):
            update_bank(s, ACTOR, bank, app=None, language="portuguese", description="", active=True)
    with db.session() as s:
        update_bank(s, ACTOR, bank_named(s, "scam"), app="market", language="pt", description="Pix scams", active=False)
    with db.reader() as s:
        [summary] = list_banks(s)
        assert (summary.app, summary.bank.language, summary.bank.description, summary.bank.active) == ("market", "pt", "Pix scams", False)
        edited = s.execute(select(AuditEvent).where(AuditEvent.verb == "text_bank.edited")).scalar_one()
    assert (edited.before["app"], edited.before["active"]) == (None, True)
    assert (edited.after["app"], edited.after["language"], edited.after["active"]) == ("market", "pt", False)


def test_a_bank_takes_no_more_than_its_limit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trustdesk.domain.text_banks.MAX_PATTERNS", 2)
    with db.session() as s:
        bank = create_bank(s, ACTOR, TextBankSpec("links", "regex"))
        add_entries(s, ACTOR, bank, [entry("regex", r"bit\.ly/\w+")], source="manual")
    with db.session() as s:  # what is there already does not count
        assert add_entries(s, ACTOR, bank_named(s, "links"), parse_lines("regex", "bit\\.ly/\\w+\nt\\.me/\\w+").entries,
                           source="manual") == 1
        remove_entry(s, ACTOR, bank_named(s, "links"), r"t\.me/\w+")
    with pytest.raises(FieldError) as refused, db.session() as s:
        add_entries(s, ACTOR, bank_named(s, "links"), parse_lines("regex", "t\\.me/\\w+\nwa\\.me/\\d+").entries, source="manual")
    assert refused.value.message == "bank 'links' holds 1 entries and may hold 2: 2 more are too many"
    with db.reader() as s:
        assert [e.value for e in banks.entries_of(s, bank_named(s, "links"))] == [r"bit\.ly/\w+"]


def test_patterns_re2_cannot_hold_together_are_refused(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.session() as s:
        bank = create_bank(s, ACTOR, TextBankSpec("lures", "regex"))
        add_entries(s, ACTOR, bank, [entry("regex", r"\pL+ pay \pL+")], source="manual")
    monkeypatch.setattr("trustdesk.domain.text_banks.MAX_SET_MEMORY", 1 << 17)
    many = [TextEntry(rf"\pL+{i}\pL+ \pN{{2,}}") for i in range(100)]
    with pytest.raises(FieldError) as refused, db.session() as s:
        add_entries(s, ACTOR, bank_named(s, "lures"), many, source="manual")
    assert (refused.value.field, refused.value.message) == (
        "entries", "RE2 cannot hold these patterns in one set with the 1 of bank 'lures': make them simpler or fewer")
    with db.reader() as s:
        assert banks.summary(s, bank_named(s, "lures")).entries == 1


def test_staff_adding_the_same_entry_at_once_add_it_once(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; adding together races on PostgreSQL")
    with db.session() as s:
        create_bank(s, ACTOR, TextBankSpec("crypto_scam", "keyword"))
    added: list[int] = []

    def add() -> None:
        with db.session() as s:
            added.append(add_entries(s, ACTOR, bank_named(s, "crypto_scam"), [entry("keyword", "bitcoin")], source="manual"))

    def create() -> None:
        with db.session() as s:
            create_bank(s, ACTOR, TextBankSpec("other", "keyword"))

    together([add] * 8)
    assert sorted(added) == [0] * 7 + [1]
    with pytest.raises(Conflict):
        together([create] * 4)
    with db.reader() as s:
        assert s.execute(select(TextBankEntry.value)).scalars().all() == ["bitcoin"]
        assert [summary.bank.name for summary in list_banks(s)] == ["crypto_scam", "other"]
