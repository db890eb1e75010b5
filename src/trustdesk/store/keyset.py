"""Keyset paging: a page starts just after (or ends just before) one row's sort key.

Unlike OFFSET, the database seeks straight to the row through the ordering index, so the
thousandth page costs what the first does, and rows added or removed meanwhile never shift a
page. The position travels as an opaque cursor (URL-safe base64 of JSON) naming the order it
belongs to; a cursor is client input like any other, so decoding checks every value.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from trustdesk.domain.client_input import kept_time
from trustdesk.domain.errors import FieldError
from trustdesk.store.models import MAX_BIGINT, as_utc

_MAX_CURSOR = 1000


@dataclass(frozen=True)
class Key:
    """One column of an order; the last key of an order must be unique (the primary key)."""

    column: InstrumentedAttribute[Any]
    descending: bool = False


def order_by(keys: Sequence[Key], *, backwards: bool = False) -> list[ColumnElement[Any]]:
    """The ORDER BY for `keys`, or its reverse to read the rows before a position."""
    return [k.column.desc() if k.descending != backwards else k.column.asc() for k in keys]


def beyond(keys: Sequence[Key], values: Sequence[Any], *, backwards: bool = False) -> ColumnElement[bool]:
    """Rows after the position `values` in the order `keys` (before it when `backwards`).

    Written out as (a > x) OR (a = x AND b > y) …, since the keys may run in different directions;
    the redundant a >= x in front lets the database seek the ordering index to the position.
    """
    clauses = []
    for i, key in enumerate(keys):
        ahead = key.column < values[i] if key.descending != backwards else key.column > values[i]
        clauses.append(and_(*(k.column == v for k, v in zip(keys[:i], values[:i])), ahead))
    first = keys[0]
    seek = first.column <= values[0] if first.descending != backwards else first.column >= values[0]
    return and_(seek, or_(*clauses))


def encode(order: str, keys: Sequence[Key], row: Any) -> str:
    """The cursor for `row` (an ORM object with the key columns) in the order named `order`."""
    values = [_plain(getattr(row, k.column.key)) for k in keys]
    return base64.urlsafe_b64encode(json.dumps([order, *values], separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, order: str, keys: Sequence[Key], field: str) -> list[Any]:
    """The position in `cursor`; a FieldError naming `field` if it is not a cursor of this order."""
    wrong = FieldError(field, "not a page position of this list in this order; start again from the first page")
    if len(cursor) > _MAX_CURSOR:
        raise wrong
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise wrong from exc
    if not isinstance(raw, list) or len(raw) != len(keys) + 1 or raw[0] != order:
        raise wrong
    try:
        return [_typed(value, key.column.type.python_type) for value, key in zip(raw[1:], keys)]
    except (TypeError, ValueError) as exc:
        raise wrong from exc


def _plain(value: Any) -> Any:
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def _typed(value: Any, kind: type) -> Any:
    """`value` as the column's Python type, refusing anything a real cursor could not hold."""
    if kind is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or not kept_time(parsed):
            raise ValueError("a time without its offset, or out of range")
        return parsed
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_BIGINT:
        return value
    raise TypeError(f"{value!r} is not a {kind.__name__}")
