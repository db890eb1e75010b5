"""Evaluating a rule set: all at once when every condition answers, one by one when one fails."""

from __future__ import annotations

from typing import Any

from trustdesk.domain.rules import Label, RuleMode
from trustdesk.rules.engine import CompiledRule, compile_condition, evaluate


def _rule(name: str, source: str, mode: RuleMode = RuleMode.LIVE) -> CompiledRule:
    return CompiledRule(1, 1, name, 1, mode, compile_condition(source), (Label(name),))


def _inputs(text: str, scores: dict[str, float]) -> dict[str, Any]:
    return {
        "event": {"type": "signals", "policy": "", "source": "", "text": "", "imminent_harm": False},
        "subject": {"kind": "message", "app": "dating", "language": "en", "country": "", "title": "", "text": text, "media_count": 0},
        "policy": {"code": "", "severity": 0, "graphic": False},
        "signals": [{"analyser": "text", "label": label, "score": score, "match": ""} for label, score in scores.items()],
        "history": {"account_age_days": 3, "reports_24h": 0, "reports_7d": 0, "violations_30d": 0, "active_strikes": 0,
                    "related_accounts": 0},
        "text_banks": [],
    }


RULES = [
    _rule("prize", "subject.text.contains('prize') // a comment ends with its line"),
    _rule("scam", "signals.exists(g, g.label == 'spam_scam' && g.score > 0.9)"),
    _rule("first_signal", "signals[0].score > 0.5"),  # fails on an event without signals
    _rule("young", "history.account_age_days < 7", RuleMode.SHADOW),
    _rule("off", "true", RuleMode.DISABLED),
]


def _names(rules: tuple[CompiledRule, ...]) -> list[str]:
    return [rule.name for rule in rules]


def test_every_rule_answers_together_in_name_order() -> None:
    outcome = evaluate(RULES, _inputs("claim your prize", {"spam_scam": 0.95}))
    assert _names(outcome.hits) == ["first_signal", "prize", "scam", "young"]
    assert outcome.errors == ()
    assert outcome.effects.labels == ("first_signal", "prize", "scam")  # live hits only


def test_a_failing_rule_is_an_error_and_the_others_still_answer() -> None:
    outcome = evaluate(RULES, _inputs("claim your prize", {}))
    assert _names(outcome.hits) == ["prize", "young"]
    assert [(e["name"], e["source"]) for e in outcome.errors] == [("first_signal", "rule")]
    assert "could not evaluate" in outcome.errors[0]["error"]


def test_the_same_inputs_give_the_same_outcome_as_each_rule_alone() -> None:
    for text, scores in (("hello", {"spam_scam": 0.2}), ("prize", {"spam_scam": 0.99, "hate": 0.1}), ("", {})):
        inputs = _inputs(text, scores)
        alone = sorted(rule.name for rule in RULES if rule.mode is not RuleMode.DISABLED and _matches_alone(rule, inputs))
        assert _names(evaluate(RULES, inputs).hits) == alone


def _matches_alone(rule: CompiledRule, inputs: dict[str, Any]) -> bool:
    try:
        return rule.expression.matches(inputs)
    except ValueError:
        return False
