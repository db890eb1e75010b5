"""The expression language: what an admin may save, and how saved expressions evaluate."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.rules.expressions import (
    MAX_SOURCE_CHARS,
    ExpressionError,
    Schema,
    compile_expression,
)

SCHEMA = Schema(
    {
        "report": {"policy": str, "source": str, "text": str, "severity": int},
        "subject": {"kind": str, "language": str, "app": str},
        "signals": list,
    }
)


def _context(**report: Any) -> dict[str, Any]:
    return {
        "report": {"policy": "spam", "source": "user", "text": "buy now", "severity": 2, **report},
        "subject": {"kind": "message", "language": "en", "app": "dating"},
        "signals": [{"name": "spam-classifier", "score": 0.9}],
    }


def test_condition_matches_and_lists_its_variables() -> None:
    expression = compile_expression("report.policy == 'spam' && subject.language in ['en', 'de']", SCHEMA)
    assert expression.variables == ("report", "subject")
    assert expression.source == "report.policy == 'spam' && subject.language in ['en', 'de']"
    assert expression.matches(_context()) is True
    assert expression.matches(_context(policy="fraud")) is False


def test_evaluate_returns_any_value() -> None:
    assert compile_expression("size(report.text) + report.severity", SCHEMA).evaluate(_context()) == 9


@pytest.mark.parametrize(
    "source",
    [
        "signals.exists(s, s.score > 0.5)",
        "signals.all(s, s.score > 0.5)",
        "signals.exists_one(s, s.name == 'spam-classifier')",
        "signals.map(s, s.score).exists(v, v > 0.5)",
        "signals.filter(s, s.score > 0.5).size() == 1",
    ],
)
def test_comprehension_variables_are_not_schema_variables(source: str) -> None:
    expression = compile_expression(source, SCHEMA)
    assert expression.variables == ("signals",)
    assert expression.matches(_context()) is True


def test_syntax_error_names_the_position() -> None:
    with pytest.raises(ExpressionError, match=r"syntax error at line 1, column 17") as refused:
        compile_expression("report.policy ==", SCHEMA)
    assert "^" in str(refused.value)


def test_undeclared_variable_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"unknown variable 'reporter'; did you mean 'report'\?"):
        compile_expression("reporter.policy == 'spam'", SCHEMA)


def test_misspelled_field_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ExpressionError, match=r"report has no field 'polcy'; did you mean 'policy'\?"):
        compile_expression("report.policy == 'a' || report.polcy == 'spam'", SCHEMA)


def test_unknown_field_without_close_match_lists_the_fields() -> None:
    with pytest.raises(ExpressionError, match=r"no field 'zzz'; known: policy, severity, source, text"):
        compile_expression("has(report.zzz)", SCHEMA)


def test_dotted_text_inside_a_string_is_not_a_field_access() -> None:
    expression = compile_expression("report.text == 'see report.polcy' // and not report.nope", SCHEMA)
    assert expression.matches(_context(text="see report.polcy")) is True


def test_loop_variable_named_like_a_schema_variable_is_the_element() -> None:
    expression = compile_expression("signals.exists(report, report.score > 0.5)", SCHEMA)
    assert expression.variables == ("signals",)
    assert expression.matches(_context()) is True


def test_comparing_a_string_with_an_int_is_refused_with_its_position() -> None:
    with pytest.raises(ExpressionError, match=r"^type error at line 1, column 15: '>' does not take \(string, int\)$"):
        compile_expression("report.policy > 3", SCHEMA)


def test_type_error_behind_a_boolean_guard_is_still_caught() -> None:
    schema = Schema({"report": {"urgent": bool, "policy": str}})
    with pytest.raises(ExpressionError, match=r"^type error at line 1, column 32: '>' does not take \(string, int\)$"):
        compile_expression("report.urgent && report.policy > 3", schema)


def test_int_and_double_mixed_are_refused_with_the_fix() -> None:
    with pytest.raises(ExpressionError, match=r"\(int, double\); CEL does not mix int and double: write 1.0"):
        compile_expression("report.severity > 1.5", SCHEMA)


def test_unknown_function_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"unknown name 'shout'"):
        compile_expression("shout(report.text)", SCHEMA)


@pytest.mark.parametrize("source", ["report.text.matches('(')", "matches(report.text, \"[a-\")", "report.text.matches('fee') || report.text.matches('(b')"])
def test_a_written_pattern_the_engine_cannot_compile_is_refused(source: str) -> None:
    """Any string passes the type checker; this one would fail on every event."""
    with pytest.raises(ExpressionError, match=r"is not a valid regular expression: invalid regular expression: missing"):
        compile_expression(source, SCHEMA)


def test_a_valid_written_pattern_is_kept() -> None:
    expression = compile_expression("report.text.matches('pay (the )?fee') && matches(report.text, r'\\d+')", SCHEMA)
    assert expression.matches(_context(text="pay the fee of 30")) is True


def test_sample_dependent_failure_is_not_a_refusal() -> None:
    # An empty sample list has no first element; real signals will.
    expression = compile_expression("signals[0].score > 0.5", SCHEMA)
    assert expression.matches(_context()) is True


def test_overlong_expression_is_refused() -> None:
    source = " || ".join(["report.policy == 'spam'"] * 200)
    assert len(source) > MAX_SOURCE_CHARS
    with pytest.raises(ExpressionError, match=rf"the limit is {MAX_SOURCE_CHARS}"):
        compile_expression(source, SCHEMA)


def test_non_boolean_condition_is_refused_by_matches() -> None:
    expression = compile_expression("report.policy", SCHEMA)
    assert expression.evaluate(_context()) == "spam"
    with pytest.raises(ExpressionError, match=r"must give true or false, but this gave str 'spam'"):
        expression.matches(_context())


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"report": {}}, r"^could not evaluate: no value for 'report.policy'$"),
        ({}, r"^could not evaluate: no value for 'report'$"),
        ({"report": "spam"}, r"^could not evaluate: report is str, not a record$"),
        ({"report": {"policy": 3, "source": "", "text": "", "severity": 1}}, r"^could not evaluate: a field of report has a value of the wrong type"),
    ],
)
def test_runtime_errors_are_wrapped(context: dict[str, Any], message: str) -> None:
    expression = compile_expression("report.policy == 'spam'", SCHEMA)
    with pytest.raises(ExpressionError, match=message):
        expression.matches(context)


def test_division_by_zero_at_run_time_is_wrapped() -> None:
    expression = compile_expression("10 / report.severity > 1", SCHEMA)
    with pytest.raises(ExpressionError, match=r"^could not evaluate: divide by zero$"):
        expression.matches(_context(severity=0))


def test_schema_refuses_types_it_cannot_sample() -> None:
    with pytest.raises(TypeError, match=r"'report.when' declares an unsupported type"):
        Schema({"report": {"when": complex}})
    with pytest.raises(TypeError, match=r"'report.tags' declares an unsupported type"):
        Schema({"report": {"tags": list}})
    with pytest.raises(TypeError, match=r"'report.tags' declares an unsupported type"):
        Schema({"report": {"tags": [[str]]}})


@given(threshold=st.integers(-(2**62), 2**62), severity=st.integers(-(2**62), 2**62))
def test_threshold_matches_exactly_when_severity_is_greater(threshold: int, severity: int) -> None:
    expression = compile_expression(f"report.severity > {threshold}", SCHEMA)
    assert expression.matches(_context(severity=severity)) is (severity > threshold)


SIGNALS = Schema(
    {
        "report": {"policy": str, "severity": int},
        "signals": [{"analyser": str, "label": str, "score": float, "match": str}],
        "languages": [str],
        "labels": dict[str, str],
    }
)
SIGNALS_CONTEXT = {
    "report": {"policy": "spam", "severity": 2},
    "signals": [{"analyser": "text", "label": "scam", "score": 0.9, "match": ""}],
    "languages": ["en", "de"],
    "labels": {"team": "fraud"},
}


def test_a_list_of_records_is_checked_and_evaluated() -> None:
    expression = compile_expression(
        "signals.exists(s, s.label == 'scam' && s.score > 0.8) && 'de' in languages && labels['team'] == 'fraud'",
        SIGNALS, condition=True,
    )
    assert expression.variables == ("labels", "languages", "signals")
    assert expression.matches(SIGNALS_CONTEXT) is True
    assert expression.matches({**SIGNALS_CONTEXT, "signals": []}) is False


def test_field_of_a_list_element_is_checked() -> None:
    with pytest.raises(ExpressionError, match=r"^signals\[\] has no field 'lable'; did you mean 'label'\?$"):
        compile_expression("signals.exists(s, s.lable == 'scam')", SIGNALS)


def test_element_of_a_list_of_strings_is_typed() -> None:
    with pytest.raises(ExpressionError, match=r"^type error at line 1, column 23: '==' does not take \(string, int\)$"):
        compile_expression("languages.exists(l, l == 3)", SIGNALS)


def test_condition_of_another_type_is_refused_at_save() -> None:
    with pytest.raises(ExpressionError, match=r"^a condition must give true or false, but this gives int$"):
        compile_expression("report.severity + 1", SIGNALS, condition=True)
    assert compile_expression("report.severity + 1", SIGNALS).evaluate(SIGNALS_CONTEXT) == 3


def test_wrong_number_of_arguments_is_refused() -> None:
    with pytest.raises(ExpressionError, match=r"^unknown name 'contains': .* \(line 1, column 23\)$"):
        compile_expression("report.policy.contains()", SIGNALS)


def test_value_of_the_wrong_type_for_a_list_is_an_evaluation_error() -> None:
    expression = compile_expression("'de' in languages", SIGNALS, condition=True)
    with pytest.raises(ExpressionError, match=r"^could not evaluate: Unexpected value type for 'languages\[0\]': int"):
        expression.matches({"languages": [1]})


def test_schema_describes_its_variables_for_people() -> None:
    assert SIGNALS.described() == [
        ("report.policy", "string"),
        ("report.severity", "int"),
        ("signals", "list of {analyser: string, label: string, score: double, match: string}"),
        ("languages", "list of string"),
        ("labels", "dict of string to string"),
    ]


def test_records_nest_and_their_fields_are_checked_at_every_level() -> None:
    schema = Schema({"report": {"author": {"name": str, "roles": [str]}, "attachments": [{"kind": str}]}})
    with pytest.raises(ExpressionError, match=r"^report.author has no field 'nme'; did you mean 'name'\?$"):
        compile_expression("report.author.nme == 'a'", schema)
    with pytest.raises(ExpressionError, match=r"^report.attachments\[\] has no field 'knd'; did you mean 'kind'\?$"):
        compile_expression("report.attachments.all(a, a.knd == 'photo')", schema)
    expression = compile_expression("'admin' in report.author.roles && report.attachments.all(a, a.kind == 'photo')", schema)
    context = {"report": {"author": {"name": "a", "roles": ["admin"]}, "attachments": [{"kind": "photo"}]}}
    assert expression.matches(context) is True
    context["report"]["attachments"].append({"kind": "video"})
    assert expression.matches(context) is False
