"""Revision 0035 keeps one active default queue (the first by position) and makes the database
refuse a second, on both databases, and goes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.store.raw_rows import rows
from trustdesk.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
QUEUE = ("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, graphic, active, "
         "created_at, updated_at) VALUES (:id, :name, :position, :is_default, '{}', '[]', '[]', FALSE, :active, :t, :t)")


def test_0035_keeps_the_first_active_default_and_refuses_a_second(empty_url: str) -> None:
    upgrade(empty_url, "0034")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        for id_, name, position, is_default, active in ((1, "General", 1000, True, True), (2, "Scams", 10, True, True),
                                                        (3, "Old", 5, True, False), (4, "Market", 50, False, True)):
            conn.execute(text(QUEUE), {"id": id_, "name": name, "position": position, "is_default": is_default, "active": active, "t": NOW})
    engine.dispose()
    upgrade(empty_url, "0035")
    assert rows(empty_url, "SELECT id FROM queues WHERE is_default ORDER BY id") in ([(2,), (3,)],)
    engine = create_engine(empty_url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE queues SET is_default = TRUE WHERE id = 4"))
    engine.dispose()

    command.downgrade(alembic_config(empty_url), "0034")
    engine = create_engine(empty_url)
    assert "uq_queues_default" not in {i["name"] for i in inspect(engine).get_indexes("queues")}
    engine.dispose()
