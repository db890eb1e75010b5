"""Evaluating rules on one event's inputs, and what their live hits add up to.

Pure: no database. The inputs are a mapping of the `RULE_SCHEMA` variables, built by
`trustdesk.rules.inputs` and stored with each evaluation, so the same function serves intake,
new signals, the synchronous `/evaluate` and the backtest, which replays stored inputs: a
backtest of an unchanged version finds exactly the hits recorded live.

Rules run in name order. Every rule that is not disabled is evaluated; a rule whose condition
fails on these inputs is recorded as an error (never as a silent "no"). Live hits' effects
combine: the first route naming a queue (by rule name) picks it, priority points take the largest,
band floors the most urgent, labels gather, and the first action decides.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus_client import Counter

from trustdesk.domain.priority import Band
from trustdesk.domain.rules import Act, Effect, Label, Route, RuleMode
from trustdesk.rules.expressions import Conditions, Expression, ExpressionError, Prepared, Schema, compile_expression

EXPRESSION_ERRORS = Counter(
    "trustdesk_expression_errors_total", "Rule and routing expressions that failed on an event's inputs", ["source"]
)

RULE_SCHEMA = Schema(
    {
        "event": {"type": str, "policy": str, "source": str, "text": str, "imminent_harm": bool},
        "subject": {"kind": str, "app": str, "language": str, "country": str, "title": str, "text": str,
                    "media_count": int},
        "policy": {"code": str, "severity": int, "graphic": bool},
        "signals": [{"analyser": str, "label": str, "score": float, "match": str}],
        "history": {"account_age_days": int, "reports_24h": int, "reports_7d": int, "violations_30d": int,
                    "active_strikes": int, "related_accounts": int},
        "text_banks": [str],
    }
)


def compile_condition(source: str) -> Expression:
    """A rule's condition, type-checked against `RULE_SCHEMA` and required to give a bool."""
    return compile_expression(source, RULE_SCHEMA, condition=True)


@dataclass(frozen=True)
class CompiledRule:
    """A rule version ready to evaluate."""

    rule_id: int
    version_id: int
    name: str
    version: int
    mode: RuleMode
    expression: Expression
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class Effects:
    """What an event's live hits call for, combined."""

    route: Route | None = None  # the route that names the queue
    route_rule: str | None = None
    priority: int = 0
    band: Band | None = None
    labels: tuple[str, ...] = ()
    action: Act | None = None
    action_rule: CompiledRule | None = None

    @property
    def any(self) -> bool:
        return bool(self.route or self.priority or self.band or self.labels or self.action)


@dataclass(frozen=True)
class Outcome:
    hits: tuple[CompiledRule, ...] = ()
    errors: tuple[dict[str, str], ...] = ()
    effects: Effects = field(default_factory=Effects)

    @property
    def live(self) -> tuple[CompiledRule, ...]:
        return tuple(rule for rule in self.hits if rule.mode is RuleMode.LIVE)


class Verdict(StrEnum):
    """The answer of a synchronous check: publish, hold for a person, or refuse."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


def evaluate(rules: Sequence[CompiledRule], inputs: Mapping[str, Any]) -> Outcome:
    """Run every rule that is not disabled on `inputs`; errors are kept, not raised (and counted
    when the evaluation is stored)."""
    return rule_set(rules).evaluate(inputs)


@dataclass(frozen=True)
class RuleSet:
    """Rules ready to evaluate on event after event: what that needs besides the inputs is
    worked out once per set of rules."""

    running: tuple[CompiledRule, ...]  # those not disabled, in name order
    variables: frozenset[str]
    conditions: Conditions  # their conditions as one program

    def evaluate(self, inputs: Mapping[str, Any]) -> Outcome:
        """As `evaluate` does."""
        prepared = Prepared(RULE_SCHEMA, inputs, self.variables)
        together = self.conditions.matches(prepared)
        if together is not None:
            return _outcome([rule for rule, matched in zip(self.running, together) if matched], ())
        hits, errors = [], []
        for rule in self.running:
            try:
                if rule.expression.matches(prepared):
                    hits.append(rule)
            except ExpressionError as exc:
                errors.append(expression_error("rule", rule.name, str(exc)))
        return _outcome(hits, tuple(errors))


_NOTHING = Effects()


def _outcome(hits: list[CompiledRule], errors: tuple[dict[str, str], ...]) -> Outcome:
    live = [rule for rule in hits if rule.mode is RuleMode.LIVE]
    return Outcome(tuple(hits), errors, combine(live) if live else _NOTHING)


def rule_set(rules: Sequence[CompiledRule]) -> RuleSet:
    """`rules` ready to evaluate (made once per set of rules)."""
    return _rule_set(tuple(rules))


@functools.lru_cache(maxsize=64)
def _rule_set(rules: tuple[CompiledRule, ...]) -> RuleSet:
    running = tuple(sorted((rule for rule in rules if rule.mode is not RuleMode.DISABLED), key=lambda r: r.name))
    return RuleSet(running, frozenset(name for rule in running for name in rule.expression.variables),
                   Conditions(tuple(rule.expression for rule in running), RULE_SCHEMA))


def expression_error(source: str, name: str, message: str) -> dict[str, str]:
    """An expression that failed on an event, as stored with the evaluation (and counted by
    `count_errors` once it is: the worker may evaluate an event twice, once from its read)."""
    return {"source": source, "name": name, "error": message}


def count_errors(errors: Iterable[Mapping[str, str]]) -> None:
    """Count in metrics the errors of an evaluation kept (or of a step audited)."""
    for error in errors:
        EXPRESSION_ERRORS.labels(error["source"]).inc()


def combine(live: Sequence[CompiledRule]) -> Effects:
    route = action = None
    route_rule: str | None = None
    action_rule: CompiledRule | None = None
    priority, band, labels = 0, None, []
    for rule in live:
        for effect in rule.effects:
            if isinstance(effect, Route):
                if route is None and effect.queue is not None:
                    route, route_rule = effect, rule.name
                priority = max(priority, effect.priority)
                if effect.band is not None:
                    band = effect.band if band is None else min(band, effect.band)  # "P0" < "P1": more urgent
            elif isinstance(effect, Label):
                labels.append(effect.label)
            elif isinstance(effect, Act) and action is None:
                action, action_rule = effect, rule
    return Effects(route, route_rule, priority, band, tuple(dict.fromkeys(labels)), action, action_rule)


def verdict_of(effects: Effects) -> Verdict:
    """Block when a live rule acts, review when one routes (or labels or raises priority), else allow."""
    if effects.action is not None:
        return Verdict.BLOCK
    if effects.any:
        return Verdict.REVIEW
    return Verdict.ALLOW


def routing_context(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What queue routing expressions see, derived from the same stored inputs as the rules."""
    event, subject = inputs["event"], inputs["subject"]
    return {
        "report": {"policy": event["policy"], "source": event["source"], "text": event["text"],
                   "imminent_harm": event["imminent_harm"]},
        "subject": {"kind": subject["kind"], "language": subject["language"], "country": subject["country"],
                    "app": subject["app"]},
        "policy": inputs["policy"],
        "signals": inputs["signals"],
    }
