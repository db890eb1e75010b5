"""Statements that each database spells its own way."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(session: Session) -> str:
    """"postgresql" or "sqlite": the key under which a statement built once per database kind is kept."""
    return session.get_bind().dialect.name


def conflict_insert(session: Session | str, model: type | Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect (or the named one), so it can take `ON CONFLICT` on either database."""
    name = session if isinstance(session, str) else dialect_name(session)
    return (postgresql if name == "postgresql" else sqlite).insert(model)
