"""Revision 0011 marks the catalogue's policy versions and turns bulk items into items as given,
with their outcome and decision, on both databases, and back."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import create_engine, text

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)



def test_policies_and_bulk_items_move_to_0011_and_back(empty_url: str) -> None:
    upgrade(empty_url, "0006")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO staff_users (id, username, display_name, password_hash, roles, skills, active, created_at) "
                          "VALUES (1, 'alice', 'Alice', 'x', '[\"senior\"]', '{}', TRUE, :t)"), {"t": NOW})
        for pid, code, version, current in ((1, "SPAM", 1, True), (2, "HARASSMENT", 1, False), (3, "HARASSMENT", 2, True)):
            conn.execute(text(
                "INSERT INTO policies (id, code, version, title, severity, allowed_actions, dsa_category, dsa_keywords, graphic, "
                "description, is_current, created_at) VALUES (:id, :code, :v, :code, 2, '[\"remove\"]', "
                "'STATEMENT_CATEGORY_OTHER_VIOLATION_TC', '[]', FALSE, '', :cur, :t)"
            ), {"id": pid, "code": code, "v": version, "cur": current, "t": NOW})
        for sid in (3, 5, 7):
            conn.execute(text(
                "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
                "received_at, updated_at) VALUES (:id, 1, :ext, 'listing', 'removed', '{}', '{}', '{}', :h, :t, :t)"
            ), {"id": sid, "ext": f"lst-{sid}", "h": "0" * 64, "t": NOW})
        conn.execute(text("INSERT INTO bulk_operations (id, requested_by, request, total, succeeded, failed, status, created_at) "
                          "VALUES (1, 1, '{}', 3, 2, 1, 'done', :t)"), {"t": NOW})
        for did, sid in ((10, 7), (11, 3)):
            conn.execute(text(
                "INSERT INTO decisions (id, subject_id, policy_id, policy_code, policy_version, verdict, actions, rationale, "
                "tree_path, time_spent_ms, bulk_operation_id, created_at) VALUES (:id, :sid, 1, 'SPAM', 1, 'violation', "
                "'[\"remove\"]', 'spam', '[]', 0, 1, :t)"
            ), {"id": did, "sid": sid, "t": NOW})
        for sid, status, error in ((7, "done", None), (5, "failed", "subject_id: no subject 5"), (3, "done", None)):
            conn.execute(text("INSERT INTO bulk_items (operation_id, subject_id, status, error) VALUES (1, :s, :st, :e)"),
                         {"s": sid, "st": status, "e": error})
    engine.dispose()

    upgrade(empty_url)
    assert rows(empty_url, "SELECT code, version, from_catalogue, guidance FROM policies ORDER BY id") == [
        ("SPAM", 1, True, ""), ("HARASSMENT", 1, True, ""), ("HARASSMENT", 2, False, "")]
    assert rows(empty_url, "SELECT position, reference, subject_id, status, detail, decision_id FROM bulk_items ORDER BY position") == [
        (0, "3", 3, "applied", None, 11), (1, "5", 5, "failed", "subject_id: no subject 5", None), (2, "7", 7, "applied", None, 10)]
    assert rows(empty_url, "SELECT kind, undo_of, skipped FROM bulk_operations") == [("decision", None, 0)]

    command.downgrade(alembic_config(empty_url), "0006")
    assert rows(empty_url, "SELECT subject_id, status, error FROM bulk_items ORDER BY subject_id") == [
        (3, "done", None), (5, "failed", "subject_id: no subject 5"), (7, "done", None)]
