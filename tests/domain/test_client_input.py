"""The rules every client value must meet: the quick check agrees with the one that locates."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.domain.client_input import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH, _fits, json_problem

scalars = st.none() | st.booleans() | st.text(max_size=5) | st.floats(allow_nan=False, allow_infinity=False) | st.integers(
    min_value=-(2**70), max_value=2**70)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
                      max_leaves=40)


@settings(max_examples=300, derandomize=True, database=None)
@given(values)
def test_the_quick_check_agrees_with_the_locating_one(value: Any) -> None:
    assert _fits(value) == (json_problem(value) is None)


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_the_limits_are_inclusive() -> None:
    assert json_problem({"a": [INT64_MIN, INT64_MAX, -(2.0**62), "text", None, True]}) is None
    assert json_problem(_nested(MAX_JSON_DEPTH)) is None
    assert json_problem(_nested(MAX_JSON_DEPTH + 1)) == ((), f"nested deeper than {MAX_JSON_DEPTH} levels")
    assert json_problem(_nested(100_000)) is not None  # no recursion to exhaust
    assert json_problem({"a": [0, {"b": INT64_MAX + 1}]}) == (("a", 1, "b"), f"must lie between {INT64_MIN} and {INT64_MAX}")
    assert json_problem({"a": 1e19})[0] == ("a",)
    assert json_problem({"k\x00": "v"}) == (("k\x00",), "name must not contain a NUL character")
