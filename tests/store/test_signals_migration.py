"""Revision 0021 adds the signals table, whose unique key stores a signal once per analyser
version and content, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SUBJECT = ("INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, received_at, updated_at) "
           "VALUES (1, 1, 's1', 'message', 'visible', '{}', '{}', '{}', 'h', :t, :t)")
SIGNAL = ("INSERT INTO signals (subject_id, analyser, label, score, evidence, model_version, content_hash, created_at) "
          "VALUES (1, 'text_classifier', 'spam_scam', :score, '{}', 'fast-1', :content, :t)")


def test_signals_arrive_with_0021_once_per_content_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0021")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'a', 'A', :t)"), {"t": NOW})
        conn.execute(text(SUBJECT), {"t": NOW})
        conn.execute(text(SIGNAL), {"score": 0.9, "content": "c1", "t": NOW})
        conn.execute(text(SIGNAL), {"score": 0.2, "content": "c2", "t": NOW})  # changed content: a new row
    with pytest.raises(IntegrityError), engine.begin() as conn:  # same analyser version, same content
        conn.execute(text(SIGNAL), {"score": 0.9, "content": "c1", "t": NOW})
    engine.dispose()
    assert rows(empty_url, "SELECT label, score, match, content_hash FROM signals ORDER BY id") == [
        ("spam_scam", 0.9, None, "c1"), ("spam_scam", 0.2, None, "c2")]

    command.downgrade(alembic_config(empty_url), "0020")
    engine = create_engine(empty_url)
    assert "signals" not in set(inspect(engine).get_table_names())
    engine.dispose()
