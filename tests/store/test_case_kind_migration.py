"""Revision 0012 gives every case the kind `report` and merges the open report cases that
earlier races left on one subject, so the one-open-report-case index can be built; and back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)



def _case(conn: object, case_id: int, subject_id: int, status: str, band: str, score: float, count: int, due_hours: int,
          *, breached: bool = False, claimed: bool = False) -> None:
    conn.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO cases (id, app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, imminent_harm, "
        "report_count, policy_code, routed_by, due_at, breached_at, claimed_by, lease_until, claimed_at, created_at, updated_at) "
        "VALUES (:id, 1, :s, 1, :st, :band, :score, :reasons, FALSE, :n, 'SPAM', 'default', :due, :breached, :claimed, "
        ":lease, :lease, :t, :t)"
    ), {"id": case_id, "s": subject_id, "st": status, "band": band, "score": score, "reasons": f'{{"severity": {score}}}',
        "n": count, "due": NOW + timedelta(hours=due_hours), "breached": NOW if breached else None,
        "claimed": 1 if claimed else None, "lease": NOW if claimed else None, "t": NOW})


def test_cases_become_report_cases_and_duplicate_open_ones_merge(empty_url: str) -> None:
    upgrade(empty_url, "0009")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'market', 'Market', :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO staff_users (id, username, display_name, password_hash, roles, skills, active, created_at) "
                          "VALUES (1, 'mia', 'Mia', 'x', '[\"moderator\"]', '{}', TRUE, :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, "
                          "graphic, active, created_at, updated_at) VALUES (1, 'General', 1000, TRUE, '{}', '[]', '[]', FALSE, TRUE, :t, :t)"),
                     {"t": NOW})
        for sid in (1, 2):
            conn.execute(text(
                "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
                "received_at, updated_at) VALUES (:id, 1, :ext, 'post', 'visible', '{}', '{}', '{}', :h, :t, :t)"
            ), {"id": sid, "ext": f"p{sid}", "h": "0" * 64, "t": NOW})
        _case(conn, 10, 1, "decided", "P2", 50.0, 1, 9)
        _case(conn, 11, 1, "open", "P3", 20.0, 2, 5, breached=True)   # the oldest open one: kept
        _case(conn, 12, 1, "open", "P1", 90.0, 1, 2, claimed=True)    # the highest scored: its band and score
        _case(conn, 13, 1, "open", "P3", 10.0, 1, 7)
        _case(conn, 20, 2, "open", "P2", 40.0, 1, 3)
        for rid, case_id in ((100, 10), (101, 11), (102, 11), (103, 12), (104, 13), (105, 20)):
            conn.execute(text(
                "INSERT INTO reports (id, app_id, external_id, subject_id, case_id, policy_code, reporter_type, good_faith, "
                "imminent_harm, status, body_hash, received_at) VALUES (:id, 1, :ext, :s, :c, 'SPAM', 'anonymous', FALSE, FALSE, "
                ":st, :h, :t)"
            ), {"id": rid, "ext": f"r{rid}", "s": 2 if case_id == 20 else 1, "c": case_id,
                "st": "actioned" if case_id == 10 else "open", "h": "0" * 64, "t": NOW})
        conn.execute(text("INSERT INTO queue_counters (queue_id, band, open, breached) VALUES "
                          "(1, 'P3', 2, 1), (1, 'P1', 1, 0), (1, 'P2', 1, 0)"))
    engine.dispose()

    upgrade(empty_url)
    assert rows(empty_url, "SELECT id, kind, status, band, priority_score, report_count, claimed_by FROM cases ORDER BY id") == [
        (10, "report", "decided", "P2", 50.0, 1, None),
        (11, "report", "open", "P1", 90.0, 4, None),
        (12, "report", "merged", "P1", 90.0, 1, None),
        (13, "report", "merged", "P3", 10.0, 1, None),
        (20, "report", "open", "P2", 40.0, 1, None),
    ]
    # The earliest due time of the merged cases (case 12's), and the reasons of the highest scored.
    assert rows(empty_url, "SELECT id FROM cases WHERE due_at = (SELECT due_at FROM cases WHERE id = 12) ORDER BY id") == [(11,), (12,)]
    assert "90" in str(rows(empty_url, "SELECT priority_reasons FROM cases WHERE id = 11")[0][0])
    assert rows(empty_url, "SELECT id, case_id FROM reports ORDER BY id") == [
        (100, 10), (101, 11), (102, 11), (103, 11), (104, 11), (105, 20)]
    assert sorted(rows(empty_url, "SELECT queue_id, band, open, breached FROM queue_counters WHERE open > 0")) == [
        (1, "P1", 1, 1), (1, "P2", 1, 0)]

    engine = create_engine(empty_url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _case(conn, 14, 2, "open", "P3", 5.0, 1, 1)
    with engine.begin() as conn:  # a closed case beside the open one is fine
        _case(conn, 15, 2, "decided", "P3", 5.0, 1, 1)
    engine.dispose()

    command.downgrade(alembic_config(empty_url), "0009")
    columns = rows(empty_url, "SELECT * FROM cases WHERE id = 11")
    assert len(columns[0]) == 22  # `kind` is gone
    assert rows(empty_url, "SELECT status FROM cases WHERE id = 12") == [("merged",)]
