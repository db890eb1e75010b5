"""What a rule is, as an admin writes it: a name, a mode, a CEL condition and its effects.

A rule is written in the console, through the API, or as a TOML file kept in a repository
(`trustdesk rules sync DIR`); all three arrive here as the same mapping and are refused with
the field at fault (`effects[1].queue`) before anything is stored. The condition is checked
against the rule schema by `trustdesk.rules.engine`; names of queues and policies are checked
against the database by `trustdesk.rules.versions`.

    name = "new_account_crypto_pitch"
    description = "Crypto pitches from accounts under a week old"
    mode = "shadow"                       # live | shadow | disabled
    expression = "'crypto_scam' in text_banks && history.account_age_days < 7"

    [[effects]]                          # none at all: record the hit, change nothing
    type = "route"                        # to a queue (or, without one, where the queues send it),
    queue = "Marketplace"                 # with priority points and a band floor
    priority = 30
    band = "P1"

    [[effects]]
    type = "label"                        # a label on the case
    label = "crypto"

    [[effects]]
    type = "action"                       # an automated decision under a policy
    policy = "SCAM"
    actions = ["remove"]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from trustdesk.domain.errors import FieldError
from trustdesk.domain.priority import Band

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_DESCRIPTION = 2000
MAX_EFFECTS = 10
MAX_PRIORITY = 200
MAX_DAYS = 3650


class RuleMode(StrEnum):
    LIVE = "live"  # evaluated, hits recorded, effects applied
    SHADOW = "shadow"  # evaluated and hits recorded, no effect
    DISABLED = "disabled"  # not evaluated


@dataclass(frozen=True)
class Route:
    """Send the case to a queue (None: where the queues' own expressions send it), adding
    `priority` points and raising it to at least `band`."""

    queue: str | None = None
    priority: int = 0
    band: Band | None = None
    type: str = field(default="route", init=False)


@dataclass(frozen=True)
class Label:
    """Put a label on the case, for queues, search and reports to use."""

    label: str
    type: str = field(default="label", init=False)


@dataclass(frozen=True)
class Act:
    """Decide automatically: a violation of `policy` with these actions (and `days` for a timed one)."""

    policy: str
    actions: tuple[str, ...]
    days: int | None = None
    type: str = field(default="action", init=False)


Effect = Route | Label | Act


@dataclass(frozen=True)
class RuleSpec:
    name: str
    expression: str
    mode: RuleMode = RuleMode.SHADOW
    description: str = ""
    effects: tuple[Effect, ...] = ()

    def effects_json(self) -> list[dict[str, Any]]:
        return [effect_json(e) for e in self.effects]


def effect_json(effect: Effect) -> dict[str, Any]:
    if isinstance(effect, Route):
        data: dict[str, Any] = {"type": "route", "priority": effect.priority}
        if effect.queue is not None:
            data["queue"] = effect.queue
        if effect.band is not None:
            data["band"] = effect.band.value
        return data
    if isinstance(effect, Label):
        return {"type": "label", "label": effect.label}
    data = {"type": "action", "policy": effect.policy, "actions": list(effect.actions)}
    if effect.days is not None:
        data["days"] = effect.days
    return data


def parse_rule(data: Mapping[str, Any]) -> RuleSpec:
    """A rule from its mapping form (API body, console form, TOML file), or `FieldError`."""
    if not isinstance(data, Mapping):
        raise FieldError("rule", "must be an object")
    unknown = sorted(set(data) - {"name", "description", "mode", "expression", "effects"})
    if unknown:
        raise FieldError(unknown[0], "is not a field of a rule (name, description, mode, expression, effects)")
    name = _text(data, "name")
    if not NAME.fullmatch(name):
        raise FieldError("name", "1–64 characters: a lower-case letter, then letters, digits or _")
    expression = _text(data, "expression")
    if not expression.strip():
        raise FieldError("expression", "is required")
    description = _text(data, "description", default="")
    if len(description) > MAX_DESCRIPTION:
        raise FieldError("description", f"at most {MAX_DESCRIPTION} characters")
    mode_text = _text(data, "mode", default=RuleMode.SHADOW.value)
    if mode_text not in set(RuleMode):
        raise FieldError("mode", f"one of {', '.join(RuleMode)}")
    effects = data.get("effects", [])
    if not isinstance(effects, list):
        raise FieldError("effects", "must be a list")
    if len(effects) > MAX_EFFECTS:
        raise FieldError("effects", f"at most {MAX_EFFECTS}")
    parsed = tuple(_effect(e, f"effects[{i}]") for i, e in enumerate(effects))
    if sum(isinstance(e, Route) for e in parsed) > 1:
        raise FieldError("effects", "at most one route: a case sits in one queue")
    if sum(isinstance(e, Act) for e in parsed) > 1:
        raise FieldError("effects", "at most one action effect: list its actions together")
    return RuleSpec(name, expression, RuleMode(mode_text), description, parsed)


def parse_rule_file(text: str, *, file_name: str) -> RuleSpec:
    """A rule from a TOML file; the file must be named after the rule (`NAME.toml`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FieldError("file", f"{file_name}: not valid TOML: {exc}") from exc
    except RecursionError as exc:  # tomllib recurses once per level of nested arrays and tables
        raise FieldError("file", f"{file_name}: not valid TOML: nested too deeply") from exc
    spec = parse_rule(data)
    if file_name != f"{spec.name}.toml":
        raise FieldError("name", f"{file_name}: the rule is named {spec.name!r}, so its file must be {spec.name}.toml")
    return spec


def _effect(data: Any, where: str) -> Effect:
    if not isinstance(data, Mapping):
        raise FieldError(where, "must be an object with a type")
    kind = data.get("type")
    allowed = {"route": {"queue", "priority", "band"}, "label": {"label"}, "action": {"policy", "actions", "days"}}
    if not isinstance(kind, str) or kind not in allowed:  # a list or an object is no type (and cannot be looked up)
        raise FieldError(f"{where}.type", "one of route, label, action")
    unknown = sorted(set(data) - allowed[kind] - {"type"})
    if unknown:
        raise FieldError(f"{where}.{unknown[0]}", f"is not a field of a {kind} effect")
    if kind == "route":
        priority = data.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= MAX_PRIORITY:
            raise FieldError(f"{where}.priority", f"a whole number of points from 0 to {MAX_PRIORITY}")
        band = data.get("band")
        if band is not None and (not isinstance(band, str) or band not in set(Band)):
            raise FieldError(f"{where}.band", f"one of {', '.join(Band)}")
        queue = _text(data, "queue", default="", where=where) or None
        if queue is None and not priority and band is None:
            raise FieldError(f"{where}.queue", "name a queue, or give priority points or a band")
        return Route(queue, priority, Band(band) if band else None)
    if kind == "label":
        label = _text(data, "label", where=where)
        if not LABEL.fullmatch(label):
            raise FieldError(f"{where}.label", "1–40 characters: lower-case letters, digits, _ or -")
        return Label(label)
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) and a for a in actions):
        raise FieldError(f"{where}.actions", "a non-empty list of action names")
    days = data.get("days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS):
        raise FieldError(f"{where}.days", f"a whole number of days from 1 to {MAX_DAYS}")
    return Act(_text(data, "policy", where=where), tuple(dict.fromkeys(actions)), days)


def _text(data: Mapping[str, Any], key: str, *, default: str | None = None, where: str = "") -> str:
    name = f"{where}.{key}" if where else key
    value = data.get(key, default)
    if value is None:
        raise FieldError(name, "is required")
    if not isinstance(value, str):
        raise FieldError(name, "must be a string")
    return value.strip() if key != "expression" else value
