"""Statements that each database spells its own way."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, Dialect, String, Table, bindparam, cast, column, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine

from trustdesk.store.models import as_utc


def dialect_name(session: Session) -> str:
    """"postgresql" or "sqlite": the key under which a statement built once per database kind is kept."""
    return session.get_bind().dialect.name


def conflict_insert(session: Session | str, model: type | Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect (or the named one), so it can take `ON CONFLICT` on either database."""
    name = session if isinstance(session, str) else dialect_name(session)
    return (postgresql if name == "postgresql" else sqlite).insert(model)


def insert_from_json(dialect: str, table: Table, columns: Sequence[str], shared: Sequence[str] = (), **constants: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of the rows given as one JSON array of objects, bound as `rows` (`json_text`),
    each giving `columns`; the `shared` columns, bound by their names, and `constants` are bound
    once for every row (`json_rows` says which are which): the database unpacks the rows, which
    costs far less than binding thousands of rows' parameters one by one. For rows of small
    values: SQLite reads a row's text again for each column it takes out."""
    rows = bindparam("rows", type_=String())
    if dialect == "postgresql":
        source = func.json_to_recordset(cast(rows, JSON)).table_valued(
            *(column(name, table.c[name].type) for name in columns)).render_derived(with_types=True)
        values = [source.c[name] for name in columns]
    else:
        source = func.json_each(rows).table_valued("value")
        values = [func.json_extract(source.c.value, f"$.{name}") for name in columns]
    once = {name: bindparam(name, type_=table.c[name].type) for name in shared} | constants
    # SQLite needs a WHERE before an upsert's ON CONFLICT, or reads ON as the join's.
    rows_of = select(*values, *once.values()).select_from(source).where(true())
    return conflict_insert(dialect, table).from_select([*columns, *once], rows_of)


@dataclass(frozen=True)
class JsonRows:
    """Rows as an `insert_from_json` statement takes them (made by `json_rows`): the columns
    each row gives, the columns with one value for every row, and the statement's parameters
    (`rows`, and those values)."""

    columns: tuple[str, ...]
    shared: tuple[str, ...]
    params: dict[str, Any]


def json_rows(dialect: str, table: Table, rows: Sequence[Mapping[str, Any]]) -> JsonRows:
    """Rows (all with the same keys, at least one) for an `insert_from_json` statement on
    `table`, each time as the database takes it (SQLite keeps times as text in a format of its
    own). SQLite reads a row's text again for each column it takes out, so a column None in
    every row is left out (to be NULL; unless the database has a default for it) and one with
    the same value in every row is bound once."""
    columns, shared = [], []
    for name in rows[0]:
        first = rows[0][name]
        if first is None and table.c[name].server_default is None and all(row[name] is None for row in rows):
            continue
        (shared if first is not None and len(rows) > 1 and _same(first, (row[name] for row in rows)) else columns).append(name)
    if not columns and shared:  # every row alike: the rows still say how many there are
        columns.append(shared.pop())
    times = {name for name in columns if table.c[name].type.python_type is datetime}
    stored = functools.cache(functools.partial(_stored_time, dialect))  # a batch's rows mostly share their times
    text = json_text([{name: stored(row[name]) if name in times else row[name] for name in columns} for row in rows])
    return JsonRows(tuple(columns), tuple(shared), {"rows": text} | {name: rows[0][name] for name in shared})


def _same(first: Any, values: Iterable[Any]) -> bool:
    """Whether every value is stored as `first` is: equal, of the same type and, for JSON, with
    the same text (1 and 1.0 are equal in Python, not in JSON)."""
    encoded = json_text(first) if isinstance(first, dict | list) else None
    return all(type(value) is type(first) and value == first and (encoded is None or json_text(value) == encoded) for value in values)


def json_text(value: Any) -> str:
    """`value` encoded as the JSON columns are (and as an `insert_from_json` statement takes its rows)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _stored_time(dialect: str, value: datetime | None) -> str | None:
    if value is None:
        return None
    utc = as_utc(value).astimezone(timezone.utc)
    # SQLite: as SQLAlchemy writes it, the year in four digits (`%Y` gives "1" for the year 1 on Linux).
    return utc.isoformat() if dialect == "postgresql" else f"{utc.year:04d}-{utc:%m-%d %H:%M:%S.%f}"


def encoded_json(dialect: str, name: str) -> Any:
    """A parameter for a JSON column bound as text already encoded (`json_text`), so that it can
    be encoded before the write transaction."""
    param = bindparam(name, type_=String())
    return cast(param, JSON) if dialect == "postgresql" else param


class IdList(TypeDecorator[list[int]]):
    """Ids bound as one parameter: a JSON array on SQLite, an array on PostgreSQL."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(postgresql.ARRAY(BigInteger()) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return list(value) if dialect.name == "postgresql" else orjson.dumps(list(value)).decode()


class InIds(ColumnElement[bool]):
    """`column IN ids`, the ids bound as one parameter named `name` (any iterable of ints).
    An expanding IN binds each id, and the database parses a placeholder for each: for the
    worker's thousand ids a statement cost three times what it costs with one parameter."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is: SQLite must not compare it with 1
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("ids", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any, name: str = "ids") -> None:
        self.column = coercions.expect(roles.ExpressionElementRole, column)
        self.ids = bindparam(name, type_=IdList())


@compiles(InIds, "postgresql")
def _in_array(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.ids, **kw)})"


@compiles(InIds)
def _in_json_array(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({compiler.process(element.ids, **kw)}))"
