"""Revision 0034 gives privacy requests their receipt confirmation, a rectification's statement
and a restriction's lifting; requests already stored keep their rows, with none of these set."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.store.raw_rows import add_decided_listing, rows
from tests.store.test_privacy_requests_migration import CASE, QUEUE, REQUEST
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ADDED = {"confirm_by", "receipt_confirmed_at", "receipt_confirmed_by", "receipt_confirmation", "statement", "lifted_at", "lifted_by",
         "lift_reason"}


def _columns(url: str) -> set[str]:
    engine = create_engine(url)
    found = {c["name"] for c in inspect(engine).get_columns("privacy_requests")}
    engine.dispose()
    return found


def test_0034_adds_the_effects_columns_keeps_the_requests_and_goes_back(empty_url: str) -> None:
    upgrade(empty_url, "0033")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        conn.execute(text(QUEUE), {"t": NOW})
        conn.execute(text(CASE), {"id": 1, "t": NOW})
        conn.execute(text(REQUEST), {"case": 1, "ext": "dsr-1", "t": NOW})
    engine.dispose()
    assert not ADDED & _columns(empty_url)

    command.upgrade(alembic_config(empty_url), "0034")
    assert ADDED <= _columns(empty_url)
    assert rows(empty_url, "SELECT external_id, confirm_by, statement, lifted_at FROM privacy_requests") == [("dsr-1", None, None, None)]
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE privacy_requests SET confirm_by = '2026-12-15', statement = 'a correction'"))
    engine.dispose()
    assert rows(empty_url, "SELECT statement FROM privacy_requests") == [("a correction",)]

    command.downgrade(alembic_config(empty_url), "0033")
    assert not ADDED & _columns(empty_url)
    assert rows(empty_url, "SELECT external_id FROM privacy_requests") == [("dsr-1",)]
