"""Revision 0026 adds legal holds, their subjects, evidence items and custody events, one custody
event per (hold, seq) and one item per (hold, position), and `subjects.erased_at`; and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
HOLD = ("INSERT INTO legal_holds (id, basis, reason, reference, placed_by, placed_at, custody_seq, custody_head) "
        "VALUES (1, 'manual', 'counsel', '', 'staff:lena', :t, 1, :h)")
EVENT = ("INSERT INTO custody_events (hold_id, seq, actor, verb, reason, detail, at, prev_hash, event_hash) "
         "VALUES (1, 1, 'staff:lena', 'place', 'counsel', '{}', :t, :h, :h)")
ITEM = ("INSERT INTO evidence_items (hold_id, position, kind, source_id, subject_id, sha256, content_type, size, body, created_at) "
        "VALUES (1, 1, 'subject', 3, 3, :h, 'application/json', 2, :b, :t)")


def test_hold_tables_arrive_with_0026_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0025")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
    engine.dispose()
    command.upgrade(alembic_config(empty_url), "0026")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(HOLD), {"t": NOW, "h": "a" * 64})
        conn.execute(text("INSERT INTO hold_subjects (hold_id, subject_id, named) VALUES (1, 3, TRUE)"))
        conn.execute(text(EVENT), {"t": NOW, "h": "0" * 64})
        conn.execute(text(ITEM), {"t": NOW, "h": "b" * 64, "b": b"{}"})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the chain cannot fork
        conn.execute(text(EVENT), {"t": NOW, "h": "0" * 64})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(ITEM), {"t": NOW, "h": "b" * 64, "b": b"{}"})
    engine.dispose()
    assert rows(empty_url, "SELECT external_id, erased_at FROM subjects") == [("lst-3", None)]

    command.downgrade(alembic_config(empty_url), "0025")
    engine = create_engine(empty_url)
    assert not {"legal_holds", "hold_subjects", "evidence_items", "custody_events"} & set(inspect(engine).get_table_names())
    assert "erased_at" not in {c["name"] for c in inspect(engine).get_columns("subjects")}
    engine.dispose()
