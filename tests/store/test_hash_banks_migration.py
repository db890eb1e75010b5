"""Revision 0022 adds hash banks and their hashes, one live row per (bank, algorithm, value),
on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BANK = ("INSERT INTO hash_banks (id, name, description, kind, pdq_threshold, active, created_by, created_at) "
        "VALUES (:id, :name, '', 'scam', 31, TRUE, 'cli:x', :t)")
HASH = ("INSERT INTO bank_hashes (bank_id, algorithm, value, note, added_by, added_at, removed_at) "
        "VALUES (1, 'md5', :v, '', 'cli:x', :t, :removed)")


def test_hash_bank_tables_arrive_with_0022_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0022")
    engine = create_engine(empty_url)
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    with engine.begin() as conn:
        conn.execute(text(BANK), {"id": 1, "name": "scams", "t": NOW})
        conn.execute(text(HASH), {"v": md5, "t": NOW, "removed": NOW})
        conn.execute(text(HASH), {"v": md5, "t": NOW, "removed": None})  # a removed value may come back
    with pytest.raises(IntegrityError), engine.begin() as conn:  # but is live once per bank
        conn.execute(text(HASH), {"v": md5, "t": NOW, "removed": None})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one name per bank
        conn.execute(text(BANK), {"id": 2, "name": "scams", "t": NOW})
    engine.dispose()
    assert rows(empty_url, "SELECT algorithm, value, removed_at IS NULL FROM bank_hashes ORDER BY id") == [
        ("md5", md5, False), ("md5", md5, True)]

    command.downgrade(alembic_config(empty_url), "0021")
    engine = create_engine(empty_url)
    assert not {"hash_banks", "bank_hashes"} & set(inspect(engine).get_table_names())
    engine.dispose()
