"""Revision 0030 adds privacy requests, one per case and one per (app, external id); and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
QUEUE = "INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, graphic, active, created_at, updated_at) " \
        "VALUES (1, 'Privacy requests', 6, FALSE, '{}', '[\"privacy\"]', '[]', FALSE, TRUE, :t, :t)"
CASE = ("INSERT INTO cases (id, app_id, subject_id, queue_id, kind, status, band, priority_score, priority_reasons, imminent_harm, "
        "report_count, policy_code, routed_by, due_at, legal_due_at, created_at, updated_at, labels) VALUES (:id, 1, 3, 1, 'privacy_request', "
        "'open', 'P2', 0.0, '{}', FALSE, 0, '', 'privacy:gdpr', :t, :t, :t, :t, '[]')")
REQUEST = ("INSERT INTO privacy_requests (app_id, case_id, subject_id, external_id, regime, request_type, requester_name, requester_contact, "
           "details, verification, received_on, due_on, paused_days, status, outcome, created_by, created_at) VALUES "
           "(1, :case, 3, :ext, 'gdpr', 'access', 'Mara', 'mara@example.org', '', 'unverified', '2026-11-30', '2026-12-30', 0, 'open', "
           "'{}', 'client:market', :t)")


def test_privacy_requests_arrive_with_0030_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0029")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        conn.execute(text(QUEUE), {"t": NOW})
        for case_id in (1, 2):
            conn.execute(text(CASE), {"id": case_id, "t": NOW})
    engine.dispose()
    command.upgrade(alembic_config(empty_url), "0030")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(REQUEST), {"case": 1, "ext": "dsr-1", "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one request per case
        conn.execute(text(REQUEST), {"case": 1, "ext": "dsr-2", "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one per (app, external id)
        conn.execute(text(REQUEST), {"case": 2, "ext": "dsr-1", "t": NOW})
    engine.dispose()
    assert rows(empty_url, "SELECT external_id, status FROM privacy_requests") == [("dsr-1", "open")]

    command.downgrade(alembic_config(empty_url), "0029")
    engine = create_engine(empty_url)
    assert "privacy_requests" not in inspect(engine).get_table_names()
    engine.dispose()
