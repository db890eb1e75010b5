"""Revision 0016 gives queues a tier, comments a visibility (existing ones internal) and adds the
escalations table with its rules, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_escalations_arrive_with_0016_and_leave_with_its_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0013")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO staff_users (id, username, display_name, password_hash, roles, skills, active, created_at) "
                          "VALUES (1, 'alice', 'Alice', 'x', '[\"senior\"]', '{}', TRUE, :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, "
                          "graphic, active, created_at, updated_at) VALUES (1, 'General', 0, TRUE, '{}', '[]', '[]', FALSE, TRUE, :t, :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
            "received_at, updated_at) VALUES (3, 1, 'lst-3', 'listing', 'visible', '{}', '{}', '{}', :h, :t, :t)"
        ), {"h": "0" * 64, "t": NOW})
        conn.execute(text(
            "INSERT INTO cases (id, app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, imminent_harm, "
            "report_count, policy_code, routed_by, due_at, created_at, updated_at) VALUES (30, 1, 3, 1, 'open', 'P2', 1.0, "
            "'{}', FALSE, 1, 'SPAM', '', :t, :t, :t)"
        ), {"t": NOW})
        conn.execute(text("INSERT INTO case_comments (id, case_id, author_id, body, created_at) VALUES (1, 30, 1, 'seen', :t)"), {"t": NOW})
    upgrade(empty_url, "0016")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, visibility FROM case_comments")).all() == [(1, "internal")]
        assert conn.execute(text("SELECT id, tier FROM queues")).all() == [(1, None)]
        conn.execute(text("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, "
                          "graphic, active, tier, created_at, updated_at) VALUES (2, 'Legal tier', 5, FALSE, '{}', '[\"legal\"]', '[]', "
                          "FALSE, TRUE, 'legal', :t, :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO escalations (id, case_id, tier, from_queue_id, reason, urgency, status, escalated_by, escalated_at) "
            "VALUES (1, 30, 'legal', 1, 'court order', 'high', 'open', 'alice', :t)"), {"t": NOW})
    for duplicate in (
        "INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, graphic, active, tier, "
        "created_at, updated_at) VALUES (3, 'Legal again', 5, FALSE, '{}', '[]', '[]', FALSE, TRUE, 'legal', :t, :t)",
        "INSERT INTO escalations (id, case_id, tier, from_queue_id, reason, urgency, status, escalated_by, escalated_at) "
        "VALUES (2, 30, 'senior', 1, 'again', 'low', 'open', 'alice', :t)",
    ):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(duplicate), {"t": NOW})
    engine.dispose()

    command.downgrade(alembic_config(empty_url), "0013")
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, body FROM case_comments")).all() == [(1, "seen")]
        assert conn.execute(text("SELECT id FROM queues ORDER BY id")).scalars().all() == [1, 2]
    engine.dispose()
