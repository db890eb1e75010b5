"""The audit chain: sealed per transaction, verifiable, tamper-evident, crypto-shreddable."""

from __future__ import annotations

from sqlalchemy import select, text

from trustdesk.audit import personal_data
from trustdesk.audit.log import SYSTEM, record
from trustdesk.audit.verify import verify_chain
from trustdesk.store.database import Database
from trustdesk.store.models import AuditBlock, AuditEvent


def _write(db: Database, n_tx: int, per_tx: int = 2) -> None:
    for t in range(n_tx):
        with db.session() as s:
            for i in range(per_tx):
                record(s, actor=SYSTEM, verb="test.touch", object_type="thing", object_id=f"{t}-{i}",
                       before=None, after={"n": i, "email": f"p{t}@example.org"}, person_ref=f"subject:{t}")


def test_each_transaction_seals_one_block_and_the_chain_verifies(db: Database) -> None:
    _write(db, 3, per_tx=4)
    with db.reader() as s:
        blocks = s.execute(select(AuditBlock).order_by(AuditBlock.seq)).scalars().all()
        assert [b.seq for b in blocks] == [1, 2, 3]
        assert [b.event_count for b in blocks] == [4, 4, 4]
        assert blocks[1].prev_hash == blocks[0].block_hash
        result = verify_chain(s)
    assert result.ok, result.problem
    assert (result.blocks, result.events) == (3, 12)


def test_rolled_back_transaction_leaves_no_events(db: Database) -> None:
    try:
        with db.session() as s:
            record(s, actor=SYSTEM, verb="test.touch", object_type="thing", object_id="x")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.reader() as s:
        assert s.execute(select(AuditEvent)).first() is None
        assert verify_chain(s).ok


def test_tampered_event_is_named(db: Database) -> None:
    _write(db, 3)
    with db.session() as s:
        victim = s.execute(select(AuditEvent).order_by(AuditEvent.id).offset(3)).scalars().first()
        s.execute(text("UPDATE audit_events SET verb = 'test.forged' WHERE id = :id"), {"id": victim.id})
    with db.reader() as s:
        result = verify_chain(s)
    assert not result.ok
    assert f"event {victim.id} in block 2 was altered" in result.problem


def test_rehashed_event_breaks_its_block(db: Database) -> None:
    _write(db, 2)
    with db.session() as s:
        s.execute(text("UPDATE audit_events SET event_hash = :h WHERE id = 1"), {"h": "f" * 64})
    with db.reader() as s:
        problem = verify_chain(s).problem
    assert problem is not None and "event 1 in block 1" in problem


def test_deleted_block_is_named(db: Database) -> None:
    _write(db, 3)
    with db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE tx_id = (SELECT tx_id FROM audit_blocks WHERE seq = 2)"))
        s.execute(text("DELETE FROM audit_blocks WHERE seq = 2"))
    with db.reader() as s:
        assert verify_chain(s).problem == "block 2 is missing (next block found is 3)"


def test_personal_fields_are_encrypted_and_shredding_keeps_the_chain(db: Database) -> None:
    _write(db, 2)
    with db.reader() as s:
        row = s.execute(select(AuditEvent).where(AuditEvent.person_ref == "subject:0")).scalars().first()
        assert row.after["n"] == 0
        assert "$enc" in row.after["email"], "email must not be stored in clear"
        assert personal_data.decrypt_value(s, row.after["email"], row.person_ref) == "p0@example.org"
    with db.session() as s:
        assert personal_data.destroy_key(s, "subject:0")
    with db.reader() as s:
        row = s.execute(select(AuditEvent).where(AuditEvent.person_ref == "subject:0")).scalars().first()
        assert personal_data.decrypt_value(s, row.after["email"], row.person_ref) == personal_data.ERASED
        other = s.execute(select(AuditEvent).where(AuditEvent.person_ref == "subject:1")).scalars().first()
        assert personal_data.decrypt_value(s, other.after["email"], other.person_ref) == "p1@example.org"
        assert verify_chain(s).ok


def test_a_rolled_back_savepoint_forgets_only_its_own_events(db: Database) -> None:
    with db.session() as s:
        record(s, actor=SYSTEM, verb="test.before", object_type="thing", object_id="1")
        try:
            with s.begin_nested():
                record(s, actor=SYSTEM, verb="test.undone", object_type="thing", object_id="2")
                raise RuntimeError("the step inside the savepoint failed")
        except RuntimeError:
            pass
        with s.begin_nested():
            record(s, actor=SYSTEM, verb="test.kept", object_type="thing", object_id="3")
        record(s, actor=SYSTEM, verb="test.after", object_type="thing", object_id="4")
    with db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).order_by(AuditEvent.id)).scalars().all()
        blocks = s.execute(select(AuditBlock)).scalars().all()
        assert verify_chain(s).ok
    assert verbs == ["test.before", "test.kept", "test.after"]
    assert [b.event_count for b in blocks] == [3]  # one transaction, one block: a savepoint seals nothing of its own
