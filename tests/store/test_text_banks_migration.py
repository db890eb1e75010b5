"""Revision 0024 adds text banks and their entries, one live row per (bank, value), on both
databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BANK = ("INSERT INTO text_banks (id, name, kind, description, active, revision, created_at, updated_at) "
        "VALUES (:id, :name, 'keyword', '', TRUE, 1, :t, :t)")
ENTRY = "INSERT INTO text_bank_entries (bank_id, value, note, created_at, removed_at) VALUES (1, :v, '', :t, :removed)"


def test_text_bank_tables_arrive_with_0024_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0024")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(BANK), {"id": 1, "name": "crypto_scam", "t": NOW})
        conn.execute(text(ENTRY), {"v": "bitcoin", "t": NOW, "removed": NOW})
        conn.execute(text(ENTRY), {"v": "bitcoin", "t": NOW, "removed": None})  # a removed value may come back
    with pytest.raises(IntegrityError), engine.begin() as conn:  # but is live once per bank
        conn.execute(text(ENTRY), {"v": "bitcoin", "t": NOW, "removed": None})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one name per bank
        conn.execute(text(BANK), {"id": 2, "name": "crypto_scam", "t": NOW})
    engine.dispose()
    assert rows(empty_url, "SELECT value, removed_at IS NULL FROM text_bank_entries ORDER BY id") == [
        ("bitcoin", False), ("bitcoin", True)]

    command.downgrade(alembic_config(empty_url), "0023")
    engine = create_engine(empty_url)
    assert not {"text_banks", "text_bank_entries"} & set(inspect(engine).get_table_names())
    engine.dispose()
