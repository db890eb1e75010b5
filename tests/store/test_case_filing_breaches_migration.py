"""Revision 0032 gives cases the moment their legal deadline was found breached after they were
decided, with an index on the cases that have a legal deadline, on both databases, and goes back."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.store.raw_rows import add_decided_listing, rows
from tests.store.test_ncmec_reports_migration import CASE, QUEUE
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_cases_gain_legal_breached_at_with_0032_and_lose_it_on_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0032")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        add_decided_listing(conn, NOW)
        conn.execute(text(QUEUE), {"t": NOW})
        conn.execute(text(CASE), {"t": NOW})
        conn.execute(text("UPDATE cases SET legal_due_at = :t, legal_breached_at = :t WHERE id = 1"), {"t": NOW})
    assert "ix_cases_legal_due" in {i["name"] for i in inspect(engine).get_indexes("cases")}
    engine.dispose()
    assert rows(empty_url, "SELECT legal_due_at IS NOT NULL, legal_breached_at IS NOT NULL FROM cases") in ([(True, True)], [(1, 1)])

    command.downgrade(alembic_config(empty_url), "0031")
    engine = create_engine(empty_url)
    columns = {c["name"] for c in inspect(engine).get_columns("cases")}
    indexes = {i["name"] for i in inspect(engine).get_indexes("cases")}
    engine.dispose()
    assert "legal_breached_at" not in columns and "legal_due_at" in columns and "ix_cases_legal_due" not in indexes
