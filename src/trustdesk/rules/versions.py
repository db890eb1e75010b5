"""Saving rules as immutable versions, reading the ones in force, and syncing a directory of files.

A save that changes anything (condition, effects, mode, description) writes version n + 1 and
moves the rule's `current_version`; a save that changes nothing writes nothing. The rule row is
locked first (inserted with ON CONFLICT DO NOTHING when new), so two saves of one rule number
their versions one after the other, and (rule, version) is unique in the database besides.
Every save is compiled and type-checked against `RULE_SCHEMA` and its queues, policies and
actions looked up, so a broken rule is refused with the reason and never reaches intake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.rules import Act, Route, RuleMode, RuleSpec, effect_json, parse_rule, parse_rule_file
from trustdesk.rules.engine import CompiledRule, compile_condition
from trustdesk.rules.expressions import ExpressionError
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Policy, Queue, Rule, RuleVersion, utcnow

SOURCES = ("console", "api", "cli", "file")
# Compiled versions: a version never changes, so a per-process memo is right; keyed by what it
# says too, since a process may meet the same ids in two databases (tests, a restored copy).
_compiled: dict[tuple[Any, ...], CompiledRule] = {}


@dataclass(frozen=True)
class Saved:
    rule: Rule
    version: RuleVersion
    changed: bool


def check(session: Session, spec: RuleSpec) -> None:
    """Refuse a rule that could not run: a condition that does not compile or type-check, or an
    effect naming a queue, policy or action that does not exist."""
    try:
        compile_condition(spec.expression)
    except ExpressionError as exc:
        raise FieldError("expression", str(exc)) from exc
    for index, effect in enumerate(spec.effects):
        where = f"effects[{index}]"
        if isinstance(effect, Route) and effect.queue is not None:
            if session.execute(select(Queue.id).where(Queue.name == effect.queue, Queue.active.is_(True))).first() is None:
                raise FieldError(f"{where}.queue", f"no active queue named {effect.queue!r}")
        elif isinstance(effect, Act):
            policy = session.execute(
                select(Policy).where(Policy.code == effect.policy, Policy.is_current.is_(True))
            ).scalar_one_or_none()
            if policy is None:
                raise FieldError(f"{where}.policy", f"no policy {effect.policy!r}")
            refused = [a for a in effect.actions if a not in policy.allowed_actions]
            if refused:
                raise FieldError(f"{where}.actions", f"{policy.code} allows {', '.join(policy.allowed_actions)}, not {refused[0]}")


def save_rule(session: Session, actor: Actor, spec: RuleSpec, *, source: str, new: bool = False) -> Saved:
    """Save `spec` as the rule's next version, unless it is what the current version says.
    `new`: only as a rule of its own, refused (Conflict) when the name is taken."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    check(session, spec)
    now = utcnow()
    session.execute(
        conflict_insert(session, Rule).values(name=spec.name, current_version=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    rule = session.execute(select(Rule).where(Rule.name == spec.name).with_for_update()).scalar_one()
    if new and rule.current_version:
        raise Conflict("name", f"a rule named {spec.name!r} exists already; edit it instead")
    current = _version(session, rule) if rule.current_version else None
    if current is not None and _same(current, spec):
        return Saved(rule, current, False)
    version = RuleVersion(
        rule_id=rule.id, version=rule.current_version + 1, mode=spec.mode.value, description=spec.description,
        expression=spec.expression, effects=spec.effects_json(), source=source, created_by=actor.label, created_at=now,
    )
    session.add(version)
    rule.current_version, rule.updated_at = version.version, now
    session.flush()
    record(session, actor=actor, verb="rule.saved", object_type="rule", object_id=rule.id,
           before=_view(current) if current else None, after=_view(version))
    return Saved(rule, version, True)


def set_mode(session: Session, actor: Actor, name: str, mode: RuleMode, *, source: str) -> Saved:
    """The current version again, in another mode (a new version, so hits keep the mode they had)."""
    rule, version = rule_named(session, name)
    return save_rule(session, actor, spec_of(rule, version, mode=mode), source=source)


def sync_directory(session: Session, actor: Actor, directory: Path) -> dict[str, list[str]]:
    """Make the rules match `directory` (one `NAME.toml` per rule): a file changed since it was
    last synced is a new version; a rule that came from a file now gone is disabled, never deleted.
    A rule changed since outside its file (put live on the console, say) keeps that change while
    its file stays as it was, and is reported as `kept`. All or nothing: the first bad file
    refuses the whole sync, naming the file and the field."""
    specs = [read_rule_file(path) for path in sorted(directory.glob("*.toml"))]
    report: dict[str, list[str]] = {"created": [], "changed": [], "unchanged": [], "disabled": [], "kept": []}
    for spec in specs:
        synced = _last_synced(session, spec.name)
        if synced is not None and _same(synced, spec):
            _rule, current = rule_named(session, spec.name)
            report["unchanged" if _same(current, spec) else "kept"].append(spec.name)
            continue
        try:
            saved = save_rule(session, actor, spec, source="file")
        except FieldError as exc:
            raise FieldError(exc.field, f"{spec.name}.toml: {exc.message}") from exc
        key = "unchanged" if not saved.changed else "created" if saved.version.version == 1 else "changed"
        report[key].append(spec.name)
    present = {spec.name for spec in specs}
    for rule, version in current_versions(session):
        if rule.name not in present and version.source == "file" and version.mode != RuleMode.DISABLED.value:
            save_rule(session, actor, spec_of(rule, version, mode=RuleMode.DISABLED), source="file")
            report["disabled"].append(rule.name)
    return report


def read_rule_file(path: Path) -> RuleSpec:
    """The rule a TOML file holds; FieldError naming the file and why it holds none."""
    try:
        return parse_rule_file(_read(path), file_name=path.name)
    except FieldError as exc:
        raise FieldError(exc.field, exc.message if path.name in exc.message else f"{path.name}: {exc.message}") from exc


def _read(path: Path) -> str:
    """A rule file's text, or the reason it has none (a directory, a dangling link, not UTF-8),
    refused like a bad file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FieldError("file", f"not UTF-8 text (at byte offset {exc.start})") from exc
    except OSError as exc:
        raise FieldError("file", f"cannot be read: {exc.strerror or exc}") from exc


def current_versions(session: Session) -> list[tuple[Rule, RuleVersion]]:
    """Every rule with its current version, by name."""
    return [(rule, version) for rule, version in session.execute(
        select(Rule, RuleVersion)
        .join(RuleVersion, (RuleVersion.rule_id == Rule.id) & (RuleVersion.version == Rule.current_version))
        .order_by(Rule.name)
    )]


# Built once and run past the ORM step: every event asks.
_ACTIVE = (
    select(Rule.name, RuleVersion.id, RuleVersion.rule_id, RuleVersion.version, RuleVersion.mode, RuleVersion.expression,
           RuleVersion.description, RuleVersion.effects)
    .join(RuleVersion, (RuleVersion.rule_id == Rule.id) & (RuleVersion.version == Rule.current_version))
    .where(RuleVersion.mode != RuleMode.DISABLED.value)
)


def active_rules(session: Session) -> list[CompiledRule]:
    """The current versions of the rules that are live or in shadow, compiled (each version once
    per process: read as rows, since every event asks)."""
    session.flush()  # a rule saved in this transaction counts
    return [compiled(row.name, row) for row in session.connection().execute(_ACTIVE)]


class _VersionFields(Protocol):
    id: int
    rule_id: int
    version: int
    mode: str
    expression: str
    description: str
    effects: list[Any]


def compiled(name: str, version: _VersionFields) -> CompiledRule:
    key = (version.id, version.rule_id, name, version.version, version.mode, version.expression, repr(version.effects))
    if key not in _compiled:
        spec = parse_rule({"name": name, "expression": version.expression, "mode": version.mode,
                           "description": version.description, "effects": version.effects})
        _compiled[key] = CompiledRule(
            version.rule_id, version.id, name, version.version, spec.mode,
            compile_condition(spec.expression), spec.effects,
        )
    return _compiled[key]


def rule_named(session: Session, name: str) -> tuple[Rule, RuleVersion]:
    rule = session.execute(select(Rule).where(Rule.name == name)).scalar_one_or_none()
    if rule is None:
        raise NotFound("name", f"no rule named {name!r}")
    return rule, _version(session, rule)


def version_of(session: Session, rule: Rule, number: int) -> RuleVersion:
    version = session.execute(
        select(RuleVersion).where(RuleVersion.rule_id == rule.id, RuleVersion.version == number)
    ).scalar_one_or_none()
    if version is None:
        raise NotFound("version", f"rule {rule.name} has no version {number}")
    return version


def versions(session: Session, rule: Rule) -> list[RuleVersion]:
    return list(session.execute(
        select(RuleVersion).where(RuleVersion.rule_id == rule.id).order_by(RuleVersion.version.desc())
    ).scalars())


def spec_of(rule: Rule, version: RuleVersion, *, mode: RuleMode | None = None) -> RuleSpec:
    return parse_rule({"name": rule.name, "expression": version.expression, "mode": (mode or RuleMode(version.mode)).value,
                       "description": version.description, "effects": version.effects})


def changed_fields(before: RuleVersion | None, after: RuleVersion) -> list[str]:
    """What a version changed from the one before it (all of it for a first version)."""
    fields = ("mode", "expression", "effects", "description")
    return [f for f in fields if before is None or getattr(before, f) != getattr(after, f)]


def _last_synced(session: Session, name: str) -> RuleVersion | None:
    """The rule's latest version that came from its file, if any."""
    return session.execute(
        select(RuleVersion).join(Rule, Rule.id == RuleVersion.rule_id).where(Rule.name == name, RuleVersion.source == "file")
        .order_by(RuleVersion.version.desc()).limit(1)
    ).scalar_one_or_none()


def _version(session: Session, rule: Rule) -> RuleVersion:
    return version_of(session, rule, rule.current_version)


def _same(version: RuleVersion, spec: RuleSpec) -> bool:
    return (version.mode, version.expression, version.description, version.effects) == (
        spec.mode.value, spec.expression, spec.description, [effect_json(e) for e in spec.effects]
    )


def _view(version: RuleVersion) -> dict[str, Any]:
    return {"version": version.version, "mode": version.mode, "expression": version.expression,
            "effects": version.effects, "description": version.description, "source": version.source}
