"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trustdesk.store.database import Database
from trustdesk.store.full_text import include_name
from trustdesk.store.models import Base


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        # The full-text tables and indexes are no models: `full_text.include_name` leaves them out, as autogenerate does.
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata)
    assert diff == [], f"models differ from migrations; add a migration: {diff}"
