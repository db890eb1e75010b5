"""Revision 0023 adds rules with numbered versions, evaluations and hits, and labels on cases
(existing cases get none), on both databases, and goes back."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
VERSION = ("INSERT INTO rule_versions (rule_id, version, mode, description, expression, effects, source, created_by, created_at) "
           "VALUES (1, :n, 'shadow', '', 'true', '[]', 'api', 'test', :t)")


def test_rules_arrive_with_0023_cases_get_no_labels_and_it_goes_back(empty_url: str) -> None:
    upgrade(empty_url, "0022")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        conn.execute(text("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, "
                          "graphic, active, created_at, updated_at) VALUES (1, 'General', 0, TRUE, '{}', '[]', '[]', FALSE, TRUE, :t, :t)"),
                     {"t": NOW})
        conn.execute(text(
            "INSERT INTO cases (id, app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, imminent_harm, "
            "report_count, policy_code, routed_by, due_at, created_at, updated_at) VALUES (7, 1, 3, 1, 'open', 'P2', 1.0, "
            "'{}', FALSE, 1, 'SPAM', '', :t, :t, :t)"), {"t": NOW})
    engine.dispose()
    upgrade(empty_url, "0023")
    [(labels,)] = rows(empty_url, "SELECT labels FROM cases WHERE id = 7")
    assert (json.loads(labels) if isinstance(labels, str) else labels) == []
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO rules (id, name, current_version, created_at, updated_at) VALUES (1, 'r', 1, :t, :t)"),
                     {"t": NOW})
        conn.execute(text(VERSION), {"n": 1, "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a version number once per rule
        conn.execute(text(VERSION), {"n": 1, "t": NOW})
    engine.dispose()
    command.downgrade(alembic_config(empty_url), "0022")
    engine = create_engine(empty_url)
    assert not {"rules", "rule_versions", "rule_evaluations", "rule_hits"} & set(inspect(engine).get_table_names())
    assert "labels" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    engine.dispose()
