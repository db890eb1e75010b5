"""Revision 0025 adds kept verdicts (once per subject content) and evaluation batches, gives the
new `evaluate:write` scope to clients that may write subjects, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
CLIENT = ("INSERT INTO api_clients (id, app_id, name, token_prefix, token_hash, scopes, created_at) "
          "VALUES (:id, 1, :name, :prefix, 'h', :scopes, :t)")
VERDICT = ("INSERT INTO verdicts (app_id, subject_id, body_hash, evaluation_id, verdict, reasons, signals, created_at) "
           "VALUES (1, 1, :hash, 1, 'allow', '[]', '[]', :t)")


def test_verdicts_arrive_with_0025_once_per_content_and_intake_clients_get_the_scope(empty_url: str) -> None:
    upgrade(empty_url, "0024")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'a', 'A', :t)"), {"t": NOW})
        conn.execute(text(CLIENT), {"id": 1, "name": "intake", "prefix": "p1", "scopes": '["reports:write", "subjects:write"]', "t": NOW})
        conn.execute(text(CLIENT), {"id": 2, "name": "appeals", "prefix": "p2", "scopes": '["appeals:write"]', "t": NOW})
    engine.dispose()

    upgrade(empty_url, "0025")
    assert rows(empty_url, "SELECT id, scopes FROM api_clients ORDER BY id") in (
        [(1, '["evaluate:write", "reports:write", "subjects:write"]'), (2, '["appeals:write"]')],  # SQLite: JSON as text
        [(1, ["evaluate:write", "reports:write", "subjects:write"]), (2, ["appeals:write"])],
    )
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
                          "received_at, updated_at) VALUES (1, 1, 's1', 'message', 'visible', '{}', '{}', '{}', 'h1', :t, :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO rule_evaluations (id, app_id, subject_id, trigger, inputs, errors, created_at) "
                          "VALUES (1, 1, 1, 'evaluate', '{}', '[]', :t)"), {"t": NOW})
        conn.execute(text(VERDICT), {"hash": "h1", "t": NOW})
        conn.execute(text(VERDICT), {"hash": "h2", "t": NOW})  # changed content: a new answer
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the same content answered twice
        conn.execute(text(VERDICT), {"hash": "h1", "t": NOW})
    engine.dispose()

    command.downgrade(alembic_config(empty_url), "0024")
    engine = create_engine(empty_url)
    assert not {"verdicts", "evaluation_batches"} & set(inspect(engine).get_table_names())
    engine.dispose()
    assert [scopes for _, scopes in rows(empty_url, "SELECT id, scopes FROM api_clients ORDER BY id")] in (
        ['["reports:write", "subjects:write"]', '["appeals:write"]'], [["reports:write", "subjects:write"], ["appeals:write"]])
