"""Revision 0033 adds monthly active recipients, one row per (app, month); and goes back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import add_decided_listing, rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
FIGURE = ("INSERT INTO active_recipients (app_id, month, count, by_member_state, reported_by, reported_at) "
          "VALUES (1, :month, :count, '{}', 'client:market', :t)")


def test_active_recipients_arrive_with_0033_and_leave_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0032")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
    engine.dispose()
    command.upgrade(alembic_config(empty_url), "0033")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(FIGURE), {"month": "2026-11-01", "count": 1200, "t": NOW})
        conn.execute(text(FIGURE), {"month": "2026-10-01", "count": 1100, "t": NOW})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one figure per app and month
        conn.execute(text(FIGURE), {"month": "2026-11-01", "count": 1300, "t": NOW})
    engine.dispose()
    assert sorted(rows(empty_url, "SELECT count FROM active_recipients")) == [(1100,), (1200,)]

    command.downgrade(alembic_config(empty_url), "0032")
    engine = create_engine(empty_url)
    assert "active_recipients" not in inspect(engine).get_table_names()
    engine.dispose()
