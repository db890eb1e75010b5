"""Revision 0027 gives statements of reasons their submission state: the ones already stored
start pending, so the first run submits them; and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_stored_statements_become_pending_with_0027_and_the_columns_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0024")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        conn.execute(text(
            "INSERT INTO enforcement_actions (id, decision_id, subject_id, kind, params, status, created_by, created_at) "
            "VALUES (1, 1, 3, 'remove', '{}', 'applied', 'test', :t)"
        ), {"t": NOW})
        conn.execute(text(
            "INSERT INTO statements_of_reasons (app_id, puid, decision_id, action_id, subject_id, body, created_at) "
            "VALUES (1, 'td-1', 1, 1, 3, '{}', :t)"
        ), {"t": NOW})
    engine.dispose()

    upgrade(empty_url, "0027")
    assert rows(empty_url, "SELECT puid, submission, submitted_at, dsa_uuid, submission_errors FROM statements_of_reasons") == [
        ("td-1", "pending", None, None, None),
    ]

    command.downgrade(alembic_config(empty_url), "0024")
    engine = create_engine(empty_url)
    columns = {c["name"] for c in inspect(engine).get_columns("statements_of_reasons")}
    engine.dispose()
    assert columns == {"id", "app_id", "puid", "decision_id", "action_id", "subject_id", "body", "created_at"}
    assert rows(empty_url, "SELECT puid FROM statements_of_reasons") == [("td-1",)]
