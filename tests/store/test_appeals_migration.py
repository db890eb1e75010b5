"""Revision 0017 adds appeals, where the database holds one open appeal per decision, on both
databases, and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
APPEAL = ("INSERT INTO appeals (app_id, external_id, appellant, statement, decision_id, outcome, filed_by, body_hash, created_at) "
          "VALUES (1, :ext, 'user', 'mine', 1, :outcome, 'client:x', 'h', :t)")


def test_appeals_arrive_with_0017_one_open_per_decision_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0016")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
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
