"""Rows read with plain SQL, for migration tests that look at a schema the models no longer describe."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(query))]
    engine.dispose()
    return found
