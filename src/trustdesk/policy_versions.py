"""Policies in the database: the catalogue's versions and admins' versioned edits.

A decision records the policy version it applied, so an edit never rewrites a row: it adds
version n+1 and moves `is_current` to it, with an audit event. An edit that changes nothing
adds nothing.

A version the catalogue wrote (`from_catalogue`) follows the catalogue: when a newer TrustDesk
brings better trees or texts, `seed_catalogue` (run by `trustdesk db upgrade`) publishes them as
the next version. A version an admin wrote is never replaced; it is reported instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.catalogue_trees import CATALOGUE_TREES
from trustdesk.domain.decision_trees import default_tree, validate_tree
from trustdesk.domain.errors import Conflict, NotFound
from trustdesk.domain.policies import CATALOGUE, Action, PolicyError, PolicySpec
from trustdesk.store.models import Policy


def spec_of(row: Policy) -> PolicySpec:
    return PolicySpec(
        code=row.code, title=row.title, severity=row.severity,
        allowed_actions=tuple(Action(a) for a in row.allowed_actions), dsa_category=row.dsa_category,
        dsa_keywords=tuple(row.dsa_keywords), ncmec_incident_type=row.ncmec_incident_type,
        graphic=row.graphic, description=row.description, guidance=row.guidance,
    )


def tree_of(row: Policy) -> dict[str, Any]:
    """The tree a reviewer walks: the version's own, or the generated default if it has none."""
    return row.decision_tree or default_tree(spec_of(row))


def current_policies(session: Session) -> list[Policy]:
    return list(session.execute(select(Policy).where(Policy.is_current.is_(True)).order_by(Policy.code)).scalars())


@dataclass(frozen=True)
class CatalogueSync:
    added: int
    updated: int
    kept: list[str]  # policies an admin edited, whose catalogue version is newer: left as the admin wrote them


def seed_catalogue(session: Session, actor: Actor) -> CatalogueSync:
    """Add the catalogue's missing policies and move those still as the catalogue wrote them on
    to the catalogue's current text and tree, each as a new version (audited)."""
    current = {
        row.code: row
        for row in session.execute(select(Policy).where(Policy.is_current.is_(True)).with_for_update()).scalars()
    }
    added, updated, kept = 0, 0, []
    for spec in CATALOGUE:
        tree = CATALOGUE_TREES[spec.code]
        row = current.get(spec.code)
        if row is None:
            spec.validate()
            validate_tree(tree, spec)
            _add(session, spec, tree, version=1, from_catalogue=True)
            record(session, actor=actor, verb="policy.created", object_type="policy", object_id=f"{spec.code}@1",
                   after=asdict(spec) | {"decision_tree": tree})
            added += 1
        elif (spec_of(row), tree_of(row)) == (spec, tree):
            continue
        elif row.from_catalogue:
            _version(session, actor, row, spec, tree, from_catalogue=True)
            updated += 1
        else:
            kept.append(spec.code)
    return CatalogueSync(added, updated, kept)


def publish_version(session: Session, actor: Actor, code: str, changes: dict[str, Any]) -> tuple[Policy, bool]:
    """Validate and store an admin's new version of a policy; the previous one stays for old
    decisions. Returns the current version and whether it is new: an edit that changes nothing
    (the tree compared as the reviewer would walk it) makes no version.

    `changes` may carry a `decision_tree` (None: the generated default); it is checked against
    the new version's allowed actions, so a tree can never recommend a forbidden action.
    """
    current = session.execute(
        select(Policy).where(Policy.code == code, Policy.is_current.is_(True)).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        if session.execute(select(Policy.id).where(Policy.code == code).limit(1)).first() is None:
            raise NotFound("code", f"no policy {code!r}")
        # Another edit published a version while this one waited for the lock.
        raise Conflict("code", f"{code} was changed meanwhile; reload it and make your edit again")
    changes = dict(changes)
    tree = changes.pop("decision_tree", current.decision_tree)
    if "allowed_actions" in changes:
        try:
            changes["allowed_actions"] = tuple(Action(a) for a in changes["allowed_actions"])
        except ValueError as exc:
            raise PolicyError("allowed_actions", str(exc)) from exc
    if "dsa_keywords" in changes:
        changes["dsa_keywords"] = tuple(changes["dsa_keywords"])
    after = replace(spec_of(current), **changes)
    after.validate()
    if tree is not None:
        validate_tree(tree, after)
    if (after, tree or default_tree(after)) == (spec_of(current), tree_of(current)):
        return current, False
    return _version(session, actor, current, after, tree, from_catalogue=False), True


def _version(
    session: Session, actor: Actor, current: Policy, after: PolicySpec, tree: dict[str, Any] | None, *, from_catalogue: bool
) -> Policy:
    session.execute(update(Policy).where(Policy.id == current.id).values(is_current=False))
    row = _add(session, after, tree, version=current.version + 1, from_catalogue=from_catalogue)
    record(
        session, actor=actor, verb="policy.versioned", object_type="policy", object_id=f"{after.code}@{row.version}",
        before=asdict(spec_of(current)) | {"decision_tree": current.decision_tree},
        after=asdict(after) | {"decision_tree": tree, "from_catalogue": from_catalogue},
    )
    return row


def _add(session: Session, spec: PolicySpec, tree: dict[str, Any] | None, *, version: int, from_catalogue: bool) -> Policy:
    row = Policy(
        code=spec.code, version=version, title=spec.title, severity=spec.severity,
        allowed_actions=[a.value for a in spec.allowed_actions], dsa_category=spec.dsa_category,
        dsa_keywords=list(spec.dsa_keywords), ncmec_incident_type=spec.ncmec_incident_type,
        graphic=spec.graphic, description=spec.description, guidance=spec.guidance, decision_tree=tree,
        from_catalogue=from_catalogue, is_current=True,
    )
    session.add(row)
    session.flush()
    return row
