"""Revision 0020 adds canned rationales, reply templates with their locale texts and the replies
used on cases, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
TABLES = {"canned_rationales", "reply_templates", "reply_template_texts", "case_replies"}
TEMPLATE = ("INSERT INTO reply_templates (id, name, channel, tone, active, created_by, created_at, updated_at) "
            "VALUES (:id, :name, 'email', 'kind', TRUE, 'cli:x', :t, :t)")


def test_reply_tables_arrive_with_0020_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0020")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO canned_rationales (policy_code, text, position, created_by, created_at, updated_at) "
                          "VALUES ('SPAM', 'links again', 10, 'cli:x', :t, :t)"), {"t": NOW})
        conn.execute(text(TEMPLATE), {"id": 1, "name": "Removed", "t": NOW})
        conn.execute(text("INSERT INTO reply_template_texts (template_id, locale, subject, body) VALUES (1, 'en', 'Hi', 'case {{ case_id }}')"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one name per template
        conn.execute(text(TEMPLATE), {"id": 2, "name": "Removed", "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one text per locale
        conn.execute(text("INSERT INTO reply_template_texts (template_id, locale, subject, body) VALUES (1, 'en', '', 'again')"))
    engine.dispose()
    assert rows(empty_url, "SELECT policy_code, text, position FROM canned_rationales") == [("SPAM", "links again", 10)]

    command.downgrade(alembic_config(empty_url), "0019")
    engine = create_engine(empty_url)
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
