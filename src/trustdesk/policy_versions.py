"""Policies in the database: the seeded catalogue and versioned edits.

A decision records the policy version it applied, so an edit never rewrites a row: it adds
version n+1 and moves `is_current` to it, with an audit event.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.decision_trees import validate_tree
from trustdesk.domain.policies import CATALOGUE, Action, PolicySpec
from trustdesk.store.models import Policy


def _row_from_spec(spec: PolicySpec, version: int) -> Policy:
    return Policy(
        code=spec.code, version=version, title=spec.title, severity=spec.severity,
        allowed_actions=[a.value for a in spec.allowed_actions], dsa_category=spec.dsa_category,
        dsa_keywords=list(spec.dsa_keywords), ncmec_incident_type=spec.ncmec_incident_type,
        graphic=spec.graphic, description=spec.description, is_current=True,
    )


def spec_of(row: Policy) -> PolicySpec:
    return PolicySpec(
        code=row.code, title=row.title, severity=row.severity,
        allowed_actions=tuple(Action(a) for a in row.allowed_actions), dsa_category=row.dsa_category,
        dsa_keywords=tuple(row.dsa_keywords), ncmec_incident_type=row.ncmec_incident_type,
        graphic=row.graphic, description=row.description,
    )


def seed_catalogue(session: Session, actor: Actor) -> int:
    """Add the catalogue's policies that the database does not have yet; returns how many."""
    present = set(session.execute(select(Policy.code)).scalars())
    added = 0
    for spec in CATALOGUE:
        if spec.code in present:
            continue
        spec.validate()
        row = _row_from_spec(spec, 1)
        session.add(row)
        session.flush()
        record(session, actor=actor, verb="policy.created", object_type="policy", object_id=f"{spec.code}@1", after=asdict(spec))
        added += 1
    return added


def current_policies(session: Session) -> list[Policy]:
    return list(session.execute(select(Policy).where(Policy.is_current.is_(True)).order_by(Policy.code)).scalars())


def publish_version(session: Session, actor: Actor, code: str, changes: dict[str, Any]) -> Policy:
    """Validate and store a new version of a policy; the previous version stays for old decisions.

    `changes` may carry a `decision_tree` (None: the generated default); it is checked against
    the new version's allowed actions, so a tree can never recommend a forbidden action.
    """
    current = session.execute(
        select(Policy).where(Policy.code == code, Policy.is_current.is_(True)).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise LookupError(f"no policy {code!r}")
    changes = dict(changes)
    tree = changes.pop("decision_tree", current.decision_tree)
    if "allowed_actions" in changes:
        changes = changes | {"allowed_actions": tuple(Action(a) for a in changes["allowed_actions"])}
    if "dsa_keywords" in changes:
        changes = changes | {"dsa_keywords": tuple(changes["dsa_keywords"])}
    before = spec_of(current)
    after = replace(before, **changes)
    after.validate()
    if tree is not None:
        validate_tree(tree, after)
    session.execute(update(Policy).where(Policy.id == current.id).values(is_current=False))
    row = _row_from_spec(after, current.version + 1)
    row.decision_tree = tree
    session.add(row)
    session.flush()
    record(
        session, actor=actor, verb="policy.versioned", object_type="policy", object_id=f"{code}@{row.version}",
        before=asdict(before) | {"decision_tree": current.decision_tree}, after=asdict(after) | {"decision_tree": tree},
    )
    return row
