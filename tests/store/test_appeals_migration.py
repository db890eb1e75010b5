"""Revision 0017 adds appeals, where the database holds one open appeal per decision, on both
databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
APPEAL = ("INSERT INTO appeals (app_id, external_id, appellant, statement, decision_id, outcome, filed_by, body_hash, created_at) "
          "VALUES (1, :ext, 'user', 'mine', 1, :outcome, 'client:x', 'h', :t)")


def test_appeals_arrive_with_0017_one_open_per_decision_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0016")
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
    engine.dispose()

    upgrade(empty_url, "0017")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(APPEAL), {"ext": "a-1", "outcome": "upheld", "t": NOW})
        conn.execute(text(APPEAL), {"ext": "a-2", "outcome": None, "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(APPEAL), {"ext": "a-3", "outcome": None, "t": NOW})
    engine.dispose()

    command.downgrade(alembic_config(empty_url), "0016")
    engine = create_engine(empty_url)
    assert "appeals" not in inspect(engine).get_table_names()
    engine.dispose()
