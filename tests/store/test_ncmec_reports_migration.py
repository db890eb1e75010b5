"""Revision 0028 adds the CyberTipline reports table, one report per case that is not retracted
and one row per NCMEC report id, on both databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
CASE = ("INSERT INTO cases (id, app_id, subject_id, queue_id, kind, status, band, priority_score, priority_reasons, imminent_harm, "
        "report_count, policy_code, routed_by, due_at, created_at, updated_at, labels) VALUES (1, 1, 3, 1, 'report', 'open', 'P0', 1.0, "
        "'{}', FALSE, 1, 'SPAM', '', :t, :t, :t, '[]')")
QUEUE = "INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, graphic, active, created_at, updated_at) " \
        "VALUES (1, 'General', 1000, TRUE, '{}', '[]', '[]', FALSE, TRUE, :t, :t)"
REPORT = ("INSERT INTO ncmec_reports (case_id, state, incident_type, report_id, xml, files, errors, created_by, created_at, updated_at) "
          "VALUES (1, :state, 'Child Sex Trafficking', :rid, '<report/>', '[]', '[]', 'staff:cara', :t, :t)")


def test_ncmec_reports_arrive_with_0028_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0028")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        conn.execute(text(QUEUE), {"t": NOW})
        conn.execute(text(CASE), {"t": NOW})
        conn.execute(text(REPORT), {"state": "retracted", "rid": 70000001, "t": NOW})
        conn.execute(text(REPORT), {"state": "finished", "rid": 70000002, "t": NOW})  # a retracted one does not count
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one live report per case
        conn.execute(text(REPORT), {"state": "draft", "rid": None, "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one row per NCMEC report id
        conn.execute(text(REPORT), {"state": "retracted", "rid": 70000002, "t": NOW})
    engine.dispose()
    assert rows(empty_url, "SELECT state, report_id FROM ncmec_reports ORDER BY id") == [("retracted", 70000001), ("finished", 70000002)]

    command.downgrade(alembic_config(empty_url), "0027")
    engine = create_engine(empty_url)
    assert "ncmec_reports" not in inspect(engine).get_table_names()
    engine.dispose()
