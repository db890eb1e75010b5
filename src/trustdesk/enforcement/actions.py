"""Enforcement actions on TrustDesk's side: what each action does to a subject, and its undo.

Every action writes an `EnforcementAction` row with the visibility before and after, so an
undo can put things back and the history reads as a list of changes. Every change reaches the
host platform through the outbox: `apply_plan` announces each action applied and
`withdraw_action` each one reversed, in the same transaction (`trustdesk.delivery.outbox`);
these two are the only ways actions are written and withdrawn, so no path can skip it.
`apply_plan` also stores the statement of reasons of every restricting action of a decision
(`trustdesk.enforcement.statements`) before announcing it, so the event carries its id. An
undo that leaves a subject alone (changed again since) announces nothing: nothing changed.

Two rules keep actions safe to combine:
- only `reinstate` makes a subject more visible: restricting something already removed keeps
  it removed, and a cascade never reveals a descendant that was hidden more strictly;
- an undo only restores a subject whose state is still the one the action left, so it never
  clobbers a later change (those are reported as skipped).

Work is split into a plan (`plan_action`: look-ups and checks, raises before anything is
written) and its application (`apply_plan`), so a decision can check all its actions first
and a senior can preview a cascade from exactly what would be applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, restricted_subjects
from trustdesk.delivery.outbox import EventType, announce
from trustdesk.domain.action_types import Reversal, action_type, new_visibility
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.enforcement import statements
from trustdesk.store.inserted_now import insert_now
from trustdesk.store.models import Decision, EnforcementAction, Subject, utcnow

APPLIED, UNDONE, EXPIRED = "applied", "undone", "expired"
MAX_DESCENDANTS = 10_000
MAX_REASON = 2000
_IN_CHUNK = 1000  # ids per IN (...) list, well under every driver's parameter limit


def as_action(kind: Action | str, field: str = "kind") -> Action:
    try:
        return Action(kind)
    except ValueError:
        raise FieldError(field, f"unknown action {kind!r}") from None


# --- reading the subject tree -------------------------------------------------------------


def account_of(session: Session, subject: Subject) -> Subject:
    """The account an action addressed to the person lands on."""
    if subject.kind == SubjectKind.ACCOUNT:
        return subject
    account = session.get(Subject, subject.account_id) if subject.account_id else None
    if account is None:
        raise FieldError("subject_id", f"subject {subject.id} has no owning account")
    return account


def descendants(session: Session, subject: Subject) -> list[Subject]:
    """Children, their children and so on (breadth first), then, for an account, all it owns.

    Level by level, one query per level, so a deep shop costs a handful of queries. More than
    MAX_DESCENDANTS is refused rather than cut short: half a takedown is worse than none.
    """
    found: dict[int, Subject] = {}
    frontier = [subject.id]
    while frontier:
        level: list[Subject] = []
        for chunk in _chunks(frontier):
            level += session.execute(
                select(Subject).where(Subject.parent_id.in_(chunk)).order_by(Subject.id).limit(_room(found))
            ).scalars()
        fresh = [s for s in level if s.id != subject.id and s.id not in found]
        found.update((s.id, s) for s in fresh)
        frontier = [s.id for s in fresh]
        _check_cap(found)
    if subject.kind == SubjectKind.ACCOUNT:
        owned = session.execute(
            select(Subject)
            .where(Subject.account_id == subject.id, Subject.id != subject.id)
            .order_by(Subject.id)
            .limit(MAX_DESCENDANTS + 1)
        ).scalars()
        for item in owned:
            found.setdefault(item.id, item)
        _check_cap(found)
    return list(found.values())


def _room(found: dict[int, Subject]) -> int:
    return MAX_DESCENDANTS + 1 - len(found)


def _check_cap(found: dict[int, Subject]) -> None:
    if len(found) > MAX_DESCENDANTS:
        raise FieldError("cascade", f"more than {MAX_DESCENDANTS} descendants; too many for one action")


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start:start + _IN_CHUNK]


# --- plan, preview, apply -----------------------------------------------------------------


@dataclass(frozen=True)
class ActionPlan:
    """What an action will touch, looked up and checked before anything is written."""

    kind: Action
    target: Subject
    params: dict[str, Any]
    descendants: tuple[Subject, ...] = ()

    @property
    def cascade_kind(self) -> Action:
        """What the descendants get (a cascade takedown removes each of them)."""
        return Action(action_type(self.kind).descendants_get)


def plan_action(
    session: Session, subject: Subject, kind: Action | str, params: dict[str, Any] | None = None, *, cascade: bool = False
) -> ActionPlan:
    action = as_action(kind)
    typed = action_type(action)
    checked = typed.check_params(params or {})
    target = account_of(session, subject) if typed.on_account else subject
    cascade = cascade or typed.always_cascades
    if cascade and not typed.cascades:
        raise FieldError("cascade", f"{action.value} does not cascade to descendants")
    return ActionPlan(action, target, checked, tuple(descendants(session, target)) if cascade else ())


@dataclass(frozen=True)
class VisibilityChange:
    subject_id: int
    external_id: str
    kind: str
    before: str
    after: str


@dataclass(frozen=True)
class CascadePreview:
    """What a cascade would change, for a senior to look at before applying it."""

    subject_id: int
    action: Action
    changes: list[VisibilityChange]  # those the reader may see
    unchanged: int  # descendants already hidden at least as strictly
    withheld: int = 0  # changes to subjects hidden from the reader (a child-safety item of the account)

    @property
    def count(self) -> int:
        return len(self.changes) + self.withheld


def preview_cascade(session: Session, subject_id: int, kind: Action | str, reader: Reviewer) -> CascadePreview:
    """What the cascade would change, listing only the subjects `reader` may see: the cascade
    covers everything under the subject, and the others are counted, not named."""
    subject = _subject(session, subject_id)
    plan = plan_action(session, subject, kind, cascade=True)
    changes = [c for c in _visibility_changes(plan) if c.before != c.after]
    hidden = restricted_subjects(session, reader, [c.subject_id for c in changes])
    return CascadePreview(plan.target.id, plan.kind, [c for c in changes if c.subject_id not in hidden],
                          1 + len(plan.descendants) - len(changes), len([c for c in changes if c.subject_id in hidden]))


def _visibility_changes(plan: ActionPlan) -> Iterator[VisibilityChange]:
    for subject, kind in [(plan.target, plan.kind)] + [(d, plan.cascade_kind) for d in plan.descendants]:
        after = new_visibility(kind, subject.visibility)
        if after is not None:
            yield VisibilityChange(subject.id, subject.external_id, subject.kind, subject.visibility, after)


def changes_anything(plan: ActionPlan) -> bool:
    """Whether applying the plan would change something. An action addressed to the person
    (a warning, a strike, a suspension) always does; the others only if they move a visibility
    or a mark: removing what is already removed changes nothing."""
    typed = action_type(plan.kind)
    if typed.always_changes:
        return True
    if any(c.before != c.after for c in _visibility_changes(plan)):
        return True
    change = typed.attribute_change(plan.target.attributes, plan.params)
    return change is not None and change[1] != change[2]


class Applied(NamedTuple):
    """The action applied to the plan's own subject, and the id of its statement of reasons
    (None: it restricts nothing, or it is not part of a decision)."""

    action: EnforcementAction
    statement_id: int | None


def apply_action(
    session: Session,
    actor: Actor,
    subject: Subject,
    kind: Action | str,
    *,
    decision_id: int | None = None,
    params: dict[str, Any] | None = None,
    cascade: bool = False,
) -> Applied:
    """Apply one action (and its cascade); returns the action on the subject itself."""
    return apply_plan(session, actor, plan_action(session, subject, kind, params, cascade=cascade), decision_id=decision_id)


def apply_plan(session: Session, actor: Actor, plan: ActionPlan, *, decision_id: int | None = None) -> Applied:
    now = utcnow()
    root = insert_now(session, _apply_one(actor, plan.kind, plan.target, plan.params, decision_id, None, now))
    cascaded = [
        _apply_one(actor, plan.cascade_kind, d, {}, decision_id, root.id, now)
        for d in plan.descendants
        if new_visibility(plan.cascade_kind, d.visibility) != d.visibility
    ]
    session.add_all(cascaded)
    session.flush()
    subjects = {s.id: s for s in (plan.target, *plan.descendants)}
    restricts = any(action_type(k).restriction for k in (plan.kind, plan.cascade_kind))
    shared = statements.grounds_of(session, session.get_one(Decision, decision_id)) if decision_id and restricts else None
    stored: dict[int, int] = {}  # statement id by action id
    for action in [root, *cascaded]:
        _audit_applied(session, actor, action)
        statement = statements.store(session, shared, action, subjects[action.subject_id]) if shared is not None else None
        if statement is not None:
            stored[action.id] = statement.id
    for action in [root, *cascaded]:
        announce(session, EventType.ACTION_APPLIED, action, now=now, stored=stored)
    return Applied(root, stored.get(root.id))


def _apply_one(
    actor: Actor, kind: Action, subject: Subject, params: dict[str, Any], decision_id: int | None,
    cascade_of: int | None, now: datetime,
) -> EnforcementAction:
    typed = action_type(kind)
    stored = dict(params)
    change = typed.attribute_change(subject.attributes, params)
    if change is not None:
        name, before, after = change
        stored["attribute"] = {"name": name, "before": before, "after": after}
        subject.attributes = subject.attributes | {name: after}
    visibility = new_visibility(kind, subject.visibility)
    action = EnforcementAction(
        decision_id=decision_id, subject_id=subject.id, kind=kind.value, params=stored,
        visibility_before=subject.visibility if visibility else None, visibility_after=visibility,
        cascade_of=cascade_of, status=APPLIED, created_by=actor.label, created_at=now,
        ends_at=typed.ends_at(now, params),
    )
    if visibility:
        subject.visibility = visibility
    if visibility or change:
        subject.updated_at = now
    return action


def _audit_applied(session: Session, actor: Actor, action: EnforcementAction) -> None:
    attribute = action.params.get("attribute")
    before: dict[str, Any] = {"visibility": action.visibility_before}
    after: dict[str, Any] = {
        "action_id": action.id, "kind": action.kind, "visibility": action.visibility_after,
        "decision_id": action.decision_id, "cascade_of": action.cascade_of, "ends_at": action.ends_at,
    }
    if attribute:
        before[attribute["name"]], after[attribute["name"]] = attribute["before"], attribute["after"]
    record(session, actor=actor, verb="action.applied", object_type="subject", object_id=action.subject_id, before=before, after=after)


# --- undo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoResult:
    undone: list[EnforcementAction]  # every action withdrawn: the one asked for and its cascade
    skipped: list[EnforcementAction]  # of those, the ones whose subject changed again since: left alone


def visible_action(session: Session, reviewer: Reviewer | None, action_id: int, *, lock: bool = False) -> EnforcementAction:
    """The action, unless its subject is hidden from `reviewer` by need-to-know (None: automation)."""
    action = session.get(EnforcementAction, action_id, with_for_update=lock)
    if action is None or (reviewer is not None and restricted_subjects(session, reviewer, [action.subject_id])):
        raise NotFound("action_id", f"no action {action_id}")
    return action


def is_cascade(session: Session, action: EnforcementAction) -> bool:
    """Whether undoing the action reaches further than its own subject."""
    return action_type(action.kind).always_cascades or session.execute(
        select(EnforcementAction.id).where(EnforcementAction.cascade_of == action.id).limit(1)
    ).first() is not None


def undo_action(
    session: Session, actor: Actor, action_id: int, *, reviewer: Reviewer | None = None, reason: str = ""
) -> UndoResult:
    """Withdraw an action and everything cascaded from it, restoring what it changed.

    Undoing a cascade puts back many subjects at once, so it needs a reason, which the audit
    events of every subject keep.
    """
    action = visible_action(session, reviewer, action_id, lock=True)
    if action.status == UNDONE:
        raise Conflict("action_id", f"action {action_id} was already undone by {action.undone_by}")
    if action.status == EXPIRED:
        raise Conflict("action_id", f"action {action_id} has already ended")
    if action_type(action.kind).reversal is Reversal.REVOKE_STRIKE:
        raise FieldError("action_id", "a strike is withdrawn by revoking the strike, not by undoing its action")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise FieldError("reason", f"at most {MAX_REASON} characters")
    if not reason and is_cascade(session, action):
        raise FieldError("reason", "say why the cascade is undone: it goes into the audit log of every subject it restores")
    return withdraw_action(session, actor, action, reason=reason)


def withdraw_action(
    session: Session, actor: Actor, action: EnforcementAction, *, reason: str = "", bulk_operation_id: int | None = None
) -> UndoResult:
    """Withdraw an applied action the caller has checked (a strike's included) and its cascade."""
    actions = [action, *session.execute(
        select(EnforcementAction)
        .where(EnforcementAction.cascade_of == action.id, EnforcementAction.status == APPLIED)
        .order_by(EnforcementAction.id)
        .with_for_update()
    ).scalars()]
    subjects = _locked_subjects(session, [a.subject_id for a in actions])
    now = utcnow()
    context = {"reason": reason} | ({"bulk_operation_id": bulk_operation_id} if bulk_operation_id else {})
    skipped: list[EnforcementAction] = []
    for item in actions:
        subject = subjects[item.subject_id]
        before = _state(item, subject)
        restored = restore_state(item, subject)
        if restored:
            subject.updated_at = now
            announce(session, EventType.ACTION_REVERSED, item, now=now)
        else:
            skipped.append(item)
        item.status, item.undone_at, item.undone_by = UNDONE, now, actor.label
        record(
            session, actor=actor, verb="action.undone", object_type="subject", object_id=subject.id, before=before,
            after=_state(item, subject) | {"action_id": item.id, "skipped": not restored} | context,
        )
    return UndoResult(actions, skipped)


def _state(action: EnforcementAction, subject: Subject) -> dict[str, Any]:
    """The part of the subject the action changed, for the audit event."""
    attribute = action.params.get("attribute")
    state: dict[str, Any] = {"visibility": subject.visibility}
    return state | {attribute["name"]: subject.attributes.get(attribute["name"])} if attribute else state


def restore_state(action: EnforcementAction, subject: Subject) -> bool:
    """Put back what the action changed, unless it was changed again since; False if so."""
    attribute = action.params.get("attribute")
    untouched_since = (action.visibility_after is None or subject.visibility == action.visibility_after) and (
        attribute is None or subject.attributes.get(attribute["name"]) == attribute["after"]
    )
    if not untouched_since:
        return False
    if action.visibility_before is not None:
        subject.visibility = action.visibility_before
    if attribute is not None:
        rest = {k: v for k, v in subject.attributes.items() if k != attribute["name"]}
        subject.attributes = rest if attribute["before"] is None else rest | {attribute["name"]: attribute["before"]}
    return True


def _locked_subjects(session: Session, ids: list[int]) -> dict[int, Subject]:
    found: dict[int, Subject] = {}
    for chunk in _chunks(sorted(set(ids))):
        found.update((s.id, s) for s in session.execute(select(Subject).where(Subject.id.in_(chunk)).with_for_update()).scalars())
    return found


def _subject(session: Session, subject_id: int) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound("subject_id", f"no subject {subject_id}")
    return subject
