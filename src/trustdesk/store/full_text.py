"""Full-text search over report text and subject text, each database its own way.

SQLite keeps FTS5 tables (`reports_fts`, `subjects_fts`) over the rows' text, kept current by
triggers in the same transaction as the rows; PostgreSQL has GIN indexes over
`to_tsvector('simple', …)` of the same columns. Migration 0013 creates both. The expressions
here must stay exactly those of the indexes, or PostgreSQL stops using them.

What a person types is never query syntax: it is cut into words, and each word is quoted (FTS5)
or handed to `plainto_tsquery` (PostgreSQL), so every word must appear, in any order.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from trustdesk.store.models import Report, Subject

MAX_TERMS = 12
# Tables and indexes the migrations make that no model describes: autogenerate and the
# models-versus-migrations test leave them alone.
OUTSIDE_MODELS = frozenset({"ix_reports_text_search", "ix_subjects_text_search"})
_FTS_TABLE = re.compile(r"^(reports|subjects)_fts(_data|_idx|_docsize|_config|_content)?$")

_SQLITE_TABLE = {Report: "reports_fts", Subject: "subjects_fts"}
_POSTGRES_DOCUMENT = {
    Report: "to_tsvector('simple', coalesce(reports.text, '') || ' ' || coalesce(reports.dsa_explanation, ''))",
    Subject: "to_tsvector('simple', coalesce(subjects.title, '') || ' ' || coalesce(subjects.text, ''))",
}


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic's `include_name`: False for the full-text objects made outside the models."""
    return not (name and (name in OUTSIDE_MODELS or (type_ == "table" and _FTS_TABLE.match(name))))


def words(query: str) -> list[str]:
    """The words of a query (pieces between spaces with a letter or digit), at most MAX_TERMS."""
    return [w for w in query.split() if re.search(r"\w", w)][:MAX_TERMS]


def matches(session: Session, model: type[Report] | type[Subject], query_words: list[str]) -> TextClause:
    """A condition true for the rows of `model` whose text holds every word."""
    name = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        return text(f"{_POSTGRES_DOCUMENT[model]} @@ plainto_tsquery('simple', :words_{name})").bindparams(
            **{f"words_{name}": " ".join(query_words)}
        )
    quoted = " ".join('"' + w.replace('"', '""') + '"' for w in query_words)
    table = _SQLITE_TABLE[model]
    return text(f"{name}.id IN (SELECT rowid FROM {table} WHERE {table} MATCH :words_{name})").bindparams(
        **{f"words_{name}": quoted}
    )
