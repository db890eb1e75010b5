"""Revision 0015 links every existing case to its subject, gives cases a tier and tells how each
existing decision came about, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import create_engine, text

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)



def test_cases_and_decisions_move_to_0015_and_back(empty_url: str) -> None:
    upgrade(empty_url, "0012")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO staff_users (id, username, display_name, password_hash, roles, skills, active, created_at) "
                          "VALUES (1, 'alice', 'Alice', 'x', '[\"senior\"]', '{}', TRUE, :t)"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO policies (id, code, version, title, severity, allowed_actions, dsa_category, dsa_keywords, graphic, "
            "description, is_current, created_at) VALUES (1, 'SPAM', 1, 'Spam', 2, '[\"remove\"]', "
            "'STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE', '[]', FALSE, '', TRUE, :t)"
        ), {"t": NOW})
        conn.execute(text("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, "
                          "graphic, active, created_at, updated_at) VALUES (1, 'General', 0, TRUE, '{}', '[]', '[]', FALSE, TRUE, :t, :t)"), {"t": NOW})
        for sid in (3, 5):
            conn.execute(text(
                "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
                "received_at, updated_at) VALUES (:id, 1, :ext, 'listing', 'visible', '{}', '{}', '{}', :h, :t, :t)"
            ), {"id": sid, "ext": f"lst-{sid}", "h": "0" * 64, "t": NOW})
            conn.execute(text(
                "INSERT INTO cases (id, app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, imminent_harm, "
                "report_count, policy_code, routed_by, due_at, created_at, updated_at) VALUES (:id, 1, :sid, 1, 'open', 'P2', 1.0, "
                "'{}', FALSE, 1, 'SPAM', '', :t, :t, :t)"
            ), {"id": sid * 10, "sid": sid, "t": NOW})
        conn.execute(text("INSERT INTO bulk_operations (id, requested_by, request, total, succeeded, failed, status, created_at) "
                          "VALUES (1, 1, '{}', 1, 1, 0, 'done', :t)"), {"t": NOW})
        for did, reviewer, bulk in ((1, 1, None), (2, None, 1), (3, None, None)):
            conn.execute(text(
                "INSERT INTO decisions (id, subject_id, reviewer_id, policy_id, policy_code, policy_version, verdict, actions, "
                "rationale, tree_path, time_spent_ms, bulk_operation_id, created_at) VALUES (:id, 3, :r, 1, 'SPAM', 1, "
                "'violation', '[]', '', '[]', 0, :b, :t)"
            ), {"id": did, "r": reviewer, "b": bulk, "t": NOW})
    engine.dispose()

    upgrade(empty_url, "0015")
    assert rows(empty_url, "SELECT case_id, subject_id FROM case_subjects ORDER BY case_id") == [(30, 3), (50, 5)]
    assert rows(empty_url, "SELECT id, tier FROM cases ORDER BY id") == [(30, None), (50, None)]
    assert rows(empty_url, "SELECT id, kind, automated_detection, automated_decision, judges_decision_id FROM decisions ORDER BY id") == [
        (1, "review", False, "not_automated", None), (2, "bulk", False, "not_automated", None), (3, "automated", False, "fully", None)]

    command.downgrade(alembic_config(empty_url), "0012")
    assert rows(empty_url, "SELECT id, subject_id FROM cases ORDER BY id") == [(30, 3), (50, 5)]
