"""Banks in the database: created once per name, filled idempotently, emptied softly, each change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from trustdesk.audit.log import Actor
from trustdesk.domain.errors import Conflict, NotFound
from trustdesk.domain.hash_banks import BankSpec, parse_list
from trustdesk.hash_banks.banks import add_hashes, bank_named, create_bank, list_banks, remove_hash, update_bank
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, BankHash

ACTOR = Actor("cli", "operator")
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PDQ = "0f" * 32


def test_import_twice_adds_once_and_removal_is_soft_and_audited(db: Database) -> None:
    listing = f"algorithm,value,note\nmd5,{MD5},seen\npdq,{PDQ}\nmd5,xyz\n"
    with db.session() as s:
        bank = create_bank(s, ACTOR, BankSpec("scam photos", "scam", policy_code="SCAM", action="remove"))
        assert add_hashes(s, ACTOR, bank, parse_list(listing).entries, source="file:list.csv") == 2
    with db.session() as s:
        assert add_hashes(s, ACTOR, bank_named(s, "scam photos"), parse_list(listing).entries, source="file:list.csv") == 0
        with pytest.raises(Conflict):
            create_bank(s, ACTOR, BankSpec("scam photos", "scam"))
    with db.session() as s:
        [summary] = list_banks(s)
        assert summary.counts == {"md5": 1, "pdq": 1} and summary.total == 2
        removed = remove_hash(s, ACTOR, summary.bank, MD5.upper())
        assert removed.removed_at is not None
        with pytest.raises(NotFound):
            remove_hash(s, ACTOR, summary.bank, "0" * 32)
    with db.session() as s:
        assert list_banks(s)[0].counts == {"pdq": 1}
        # A removed value can come back, as a new row the matchers will pick up.
        assert add_hashes(s, ACTOR, bank_named(s, "scam photos"), parse_list(MD5).entries, source="manual") == 1
    with db.reader() as s:
        assert s.execute(select(BankHash.value, BankHash.removed_at.is_(None)).order_by(BankHash.id)).all() == [
            (MD5, False), (PDQ, True), (MD5, True)]
        events = s.execute(select(AuditEvent.verb, AuditEvent.after, AuditEvent.before).where(
            AuditEvent.object_type == "hash_bank").order_by(AuditEvent.id)).all()
    assert [e.verb for e in events] == ["hash_bank.created", "hash_bank.hashes_added", "hash_bank.hashes_added",
                                        "hash_bank.hash_removed", "hash_bank.hashes_added"]
    assert events[1].after == {"source": "file:list.csv", "added": {"md5": 1, "pdq": 1}}
    assert events[2].after["added"] == {}
    assert events[3].before["value"] == MD5


def test_editing_a_bank_is_checked_and_audited_with_before_and_after(db: Database) -> None:
    with db.session() as s:
        create_bank(s, ACTOR, BankSpec("other", "scam"))
        bank = create_bank(s, ACTOR, BankSpec("ncii", "ncii"))
        with pytest.raises(Conflict):
            update_bank(s, ACTOR, bank, BankSpec("other", "ncii"), active=True)
    with db.session() as s:
        update_bank(s, ACTOR, bank_named(s, "ncii"), BankSpec("ncii", "ncii", pdq_threshold=20), active=False)
    with db.reader() as s:
        assert [(b.bank.name, b.bank.active, b.bank.pdq_threshold) for b in list_banks(s)] == [("ncii", False, 20), ("other", True, 31)]
        assert [b.bank.name for b in list_banks(s, active_only=True)] == ["other"]
        edited = s.execute(select(AuditEvent).where(AuditEvent.verb == "hash_bank.edited")).scalar_one()
    assert (edited.before["pdq_threshold"], edited.before["active"]) == (31, True)
    assert (edited.after["pdq_threshold"], edited.after["active"]) == (20, False)
