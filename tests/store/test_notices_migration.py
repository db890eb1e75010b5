"""Revision 0019 adds notices, each app's notice channel (webhook by default) and the outbox's
link to the notice an event hands over, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_notices_arrive_with_0019_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0017")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
            "received_at, updated_at) VALUES (3, 1, 'acc-3', 'account', 'visible', '{}', '{}', '{}', :h, :t, :t)"
        ), {"h": "0" * 64, "t": NOW})
    engine.dispose()

    upgrade(empty_url, "0019")
    assert rows(empty_url, "SELECT slug, notice_channel FROM apps") == [("market", "webhook")]
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO notices (app_id, kind, recipient_role, recipient_subject_id, subject_id, locale, channel, subject_line, "
            "body, state, attempts, created_by, created_at) VALUES (1, 'decision', 'user', 3, 3, 'pt', 'webhook', 's', 'b', "
            "'pending', 0, 'test', :t)"
        ), {"t": NOW})
    outbox = inspect(engine)
    assert "notice_id" in {c["name"] for c in outbox.get_columns("outbox")}
    assert {"ix_outbox_due", "ix_outbox_subject_order", "ix_outbox_notice_id"} <= {i["name"] for i in outbox.get_indexes("outbox")}
    engine.dispose()
    assert rows(empty_url, "SELECT kind, recipient_role, state, statement_of_reasons_id FROM notices") == [("decision", "user", "pending", None)]

    command.downgrade(alembic_config(empty_url), "0017")
    engine = create_engine(empty_url)
    found = inspect(engine)
    assert "notices" not in found.get_table_names()
    assert "notice_id" not in {c["name"] for c in found.get_columns("outbox")}
    assert "notice_channel" not in {c["name"] for c in found.get_columns("apps")}
    assert "ix_outbox_due" in {i["name"] for i in found.get_indexes("outbox")}
    engine.dispose()
