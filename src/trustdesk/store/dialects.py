"""Statements that each database spells its own way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, String, Table, bindparam, cast, column, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(session: Session) -> str:
    """"postgresql" or "sqlite": the key under which a statement built once per database kind is kept."""
    return session.get_bind().dialect.name


def conflict_insert(session: Session | str, model: type | Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect (or the named one), so it can take `ON CONFLICT` on either database."""
    name = session if isinstance(session, str) else dialect_name(session)
    return (postgresql if name == "postgresql" else sqlite).insert(model)


def insert_from_json(dialect: str, table: Table, columns: Sequence[str], **constants: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of the rows given as one JSON array of objects, bound as `rows` (`json_rows`),
    with `constants` (bound once) for every row: the database unpacks the rows, which costs far
    less than binding thousands of rows' parameters one by one. Built once per database kind."""
    rows = bindparam("rows", type_=String())
    if dialect == "postgresql":
        source = func.json_to_recordset(cast(rows, JSON)).table_valued(
            *(column(name, table.c[name].type) for name in columns)).render_derived(with_types=True)
        values = [source.c[name] for name in columns]
    else:
        source = func.json_each(rows).table_valued("value")
        values = [func.json_extract(source.c.value, f"$.{name}") for name in columns]
    # SQLite needs a WHERE before an upsert's ON CONFLICT, or reads ON as the join's.
    rows_of = select(*values, *constants.values()).select_from(source).where(true())
    return conflict_insert(dialect, table).from_select([*columns, *constants], rows_of)


def json_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The `rows` of an `insert_from_json` statement, encoded as the JSON columns are."""
    return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
