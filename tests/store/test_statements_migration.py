"""Revision 0018 adds statements of reasons, where the database holds one per action and a puid
unique per app, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
STATEMENT = ("INSERT INTO statements_of_reasons (app_id, puid, decision_id, action_id, subject_id, body, created_at) "
             "VALUES (1, :puid, 1, :action, 3, '{\"puid\": \"x\"}', :t)")


def test_statements_arrive_with_0018_unique_by_puid_and_action_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0017")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        for action_id in (1, 2, 3):
            conn.execute(text(
                "INSERT INTO enforcement_actions (id, decision_id, subject_id, kind, params, status, created_by, created_at) "
                "VALUES (:id, 1, 3, 'remove', '{}', 'applied', 'test', :t)"
            ), {"id": action_id, "t": NOW})
    engine.dispose()

    upgrade(empty_url, "0018")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(STATEMENT), {"puid": "td-1", "action": 1, "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the same puid in the same app
        conn.execute(text(STATEMENT), {"puid": "td-1", "action": 2, "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a second statement of one action
        conn.execute(text(STATEMENT), {"puid": "td-2", "action": 1, "t": NOW})
    engine.dispose()
    assert rows(empty_url, "SELECT puid, action_id FROM statements_of_reasons") == [("td-1", 1)]

    command.downgrade(alembic_config(empty_url), "0017")
    engine = create_engine(empty_url)
    assert "statements_of_reasons" not in inspect(engine).get_table_names()
    engine.dispose()
