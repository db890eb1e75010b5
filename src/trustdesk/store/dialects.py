"""Statements that each database spells its own way."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def conflict_insert(session: Session, model: type | Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect, so it can take `ON CONFLICT` on either database."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)
