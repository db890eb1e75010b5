"""What every value a client sends must satisfy before any service sees it.

- Text holds no NUL character: PostgreSQL cannot store one in text, so without this rule the
  same request would be stored on SQLite and fail on PostgreSQL.
- Numbers lie within signed 64 bits, what a BIGINT column holds and the JSON encoder writes.
- JSON nests at most `MAX_JSON_DEPTH` levels: the JSON encoder stops at 255, and nothing the
  host platform describes needs more than a few.
- A point in time lies between `EARLIEST_YEAR` and the year 9999 once in UTC (`Moment`,
  `kept_time`): Python cannot hold one beyond, and nothing a platform records is older.

The web layer applies these to every request (path, query, headers, form and JSON body) and the
bulk import to every record, so each names the offending field the same way. Integers that do
not arrive as JSON (path, query, form) are typed `RowId` or `Count` where they are declared, or
read from text with `whole_number`; JSON typed into a form's box is read with `json_of`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field

from trustdesk.domain.errors import FieldError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# An id in a path, query, form or body: one the database cannot hold is refused, not looked up.
RowId = Annotated[int, Field(ge=1, le=INT64_MAX)]
# A number of things (followers, cents, an answer's index) that the database can hold.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
MAX_JSON_DEPTH = 32
NUL_MESSAGE = "must not contain a NUL character"
_OUT_OF_RANGE = f"must lie between {INT64_MIN} and {INT64_MAX}"
_FLOAT_BOUND = 2.0**63

Location = tuple[str | int, ...]
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


def whole_number(text: str) -> int | None:
    """`text` (spaces around it aside) as a whole number within 64 bits, in ASCII digits; None
    otherwise. `str.isdigit` also says yes to "²", which `int` refuses, and `int` refuses more than
    4,300 digits: a check by either let such text reach `int` and fail."""
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


EARLIEST_YEAR = 1900


def kept_time(value: datetime) -> bool:
    """Whether `value` (naive: UTC already) lies in the years kept, once in UTC."""
    try:
        utc = value.astimezone(timezone.utc) if value.tzinfo is not None else value
    except OverflowError:  # the offset takes it past the year 1 or 9999
        return False
    return utc.year >= EARLIEST_YEAR


_TIME_RANGE = f"must lie between the years {EARLIEST_YEAR} and 9999 in UTC"


def _kept(value: datetime) -> datetime:
    if not kept_time(value):
        raise ValueError(_TIME_RANGE)
    return value


def time_of(field: str, text: str, hint: str) -> datetime:
    """An ISO date or time typed into `field`, in UTC when it names no offset; FieldError naming
    the field, with `hint` for text that is no time, or when it lies outside the years kept."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(field, hint) from None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    if not kept_time(parsed):
        raise FieldError(field, _TIME_RANGE)
    return parsed


# A point in time sent in JSON: kept as sent (its offset too), refused outside the years kept.
Moment = Annotated[datetime, AfterValidator(_kept)]
AwareMoment = Annotated[AwareDatetime, AfterValidator(_kept)]  # one that must carry its offset


def json_of(field: str, text: str) -> Any:
    """The JSON typed into a form's box `field`; FieldError naming it for text that is not JSON,
    or JSON that cannot be read (nested thousands deep, a number of thousands of digits)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldError(field, f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except (ValueError, RecursionError):
        raise FieldError(field, "JSON nested too deep or with a number too long to read") from None


def has_nul(text: str) -> bool:
    return "\x00" in text


def json_problem(value: Any) -> tuple[Location, str] | None:
    """The first place in a parsed JSON value that breaks the rules, with why; None if none does.

    An empty location means the value as a whole (nesting too deep). Both walks use an explicit
    stack, so a deep value cannot exhaust Python's recursion limit; the quick one runs on every
    request, the one that builds locations only once something is wrong.
    """
    return None if _fits(value) else _locate(value)


def _fits(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [([value], 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        if type(item) is dict:
            if any(has_nul(key) for key in item):
                return False
            item = item.values()
        for child in item:
            kind = type(child)
            if kind is str:
                if has_nul(child):
                    return False
            elif kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif (kind is int and not INT64_MIN <= child <= INT64_MAX) or (kind is float and not -_FLOAT_BOUND < child < _FLOAT_BOUND):
                return False
    return True


def _locate(value: Any) -> tuple[Location, str] | None:
    stack: list[tuple[Location, Any]] = [((), value)]
    while stack:
        location, item = stack.pop()
        if isinstance(item, dict | list) and len(location) >= MAX_JSON_DEPTH:
            return (), f"nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(item, dict):
            for key in item:
                if has_nul(key):
                    return (*location, key), f"name {NUL_MESSAGE}"
            stack.extend(((*location, key), child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*location, index), child) for index, child in reversed(list(enumerate(item))))
        elif isinstance(item, str):
            if has_nul(item):
                return location, NUL_MESSAGE
        elif isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
            return location, _OUT_OF_RANGE
        elif isinstance(item, float) and not -_FLOAT_BOUND < item < _FLOAT_BOUND:
            # Integers beyond 64 bits arrive as floats: refused too, not stored rounded.
            return location, _OUT_OF_RANGE
    return None
