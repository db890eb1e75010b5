"""Revision 0018 adds statements of reasons, where the database holds one per action and a puid
unique per app, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
STATEMENT = ("INSERT INTO statements_of_reasons (app_id, puid, decision_id, action_id, subject_id, body, created_at) "
             "VALUES (1, :puid, 1, :action, 3, '{\"puid\": \"x\"}', :t)")


def test_statements_arrive_with_0018_unique_by_puid_and_action_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0017")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO policies (id, code, version, title, severity, allowed_actions, dsa_category, dsa_keywords, graphic, "
            "description, is_current, created_at) VALUES (1, 'SPAM', 1, 'Spam', 2, '[\"remove\"]', "
            "'STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE', '[]', FALSE, '', TRUE, :t)"
        ), {"t": NOW})
        conn.execute(text(
            "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
            "received_at, updated_at) VALUES (3, 1, 'lst-3', 'listing', 'removed', '{}', '{}', '{}', :h, :t, :t)"
        ), {"h": "0" * 64, "t": NOW})
        conn.execute(text(
            "INSERT INTO decisions (id, subject_id, policy_id, policy_code, policy_version, verdict, actions, rationale, tree_path, "
            "time_spent_ms, created_at) VALUES (1, 3, 1, 'SPAM', 1, 'violation', '[\"remove\"]', '', '[]', 0, :t)"
        ), {"t": NOW})
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
