"""Deciding a case (or a subject): the verdict, its actions, the reports it closes.

A decision is taken under the current version of a policy and records that version. A
reviewer either walks the policy's decision tree (`answers`) or gives the verdict and actions
directly; both are checked against the policy version before anything is written, as are the
targets and params of every action, so a refused decision leaves no trace.

Only the reviewer holding a case (claimed, lease not run out) can decide it: the case row is
locked through `claiming.held`, so of two reviewers racing for the same case exactly one
decides and the other gets `CaseNotHeld` (409), as does a second decision. A staff member
deciding follows need-to-know (`trustdesk.cases.access`): a case or subject they may not see
is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases import escalations
from trustdesk.cases.access import Reviewer, restricted_subjects, visible_subject
from trustdesk.cases.claiming import held
from trustdesk.domain.action_types import action_type
from trustdesk.domain.decision_trees import (
    VERDICTS,
    VIOLATION,
    TreeError,
    default_tree,
    outcome_of,
    walk,
)
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.policies import Action
from trustdesk.domain.statement_of_reasons import Grounds
from trustdesk.domain.vocabulary import AutomatedDecision, CaseKind, DecisionKind, ReporterType, ReportStatus
from trustdesk.enforcement import notifiers, statements, strikes
from trustdesk.enforcement.actions import (
    APPLIED,
    MAX_REASON,
    ActionPlan,
    Applied,
    UndoResult,
    apply_plan,
    changes_anything,
    plan_action,
    withdraw_action,
)
from trustdesk.ncmec import filing_deadline
from trustdesk.notices import outcomes as notices
from trustdesk.policy_versions import spec_of
from trustdesk.store.inserted_now import insert_now
from trustdesk.store.models import Case, Decision, EnforcementAction, Policy, Report, Strike, Subject, utcnow

CASE_OPEN, CASE_DECIDED = "open", "decided"
MAX_RATIONALE = 10_000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class DecisionRequest:
    policy_code: str
    answers: list[int] | None = None  # answer indexes through the policy's decision tree
    verdict: str | None = None  # given directly, or checked against the tree's
    actions: list[str] | None = None  # None: the tree outcome's actions
    rationale: str = ""
    time_spent_ms: int = 0
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {"days": 7, "label": "satire"}
    cascade: bool = False  # carry cascading actions down to the subject's descendants

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionRequest:
        return cls(**data)


@dataclass(frozen=True)
class CheckedRequest:
    """A request resolved against the current version of its policy."""

    policy: Policy
    verdict: str
    actions: tuple[Action, ...]
    tree_path: list[dict[str, str]]


# Built once: automated decisions (a rule's, a hash bank's) are made inside a synchronous check.
_CURRENT_POLICY = select(Policy).where(Policy.code == bindparam("code"), Policy.is_current.is_(True))
# A decision on a subject decides its open report and escalation cases. An open appeal stays
# open: it judges an earlier decision, which a new one does not decide; a privacy or
# law-enforcement request stays open for the staff who answer it, by its own calendar deadline.
_DECIDED_KINDS = (CaseKind.REPORT.value, CaseKind.ESCALATION.value)
_OPEN_CASES = (select(Case).where(Case.subject_id == bindparam("subject_id"), Case.status == CASE_OPEN, Case.kind.in_(_DECIDED_KINDS))
               .order_by(Case.id).with_for_update())


def check_request(session: Session, request: DecisionRequest) -> CheckedRequest:
    """Resolve the verdict and actions; raise an error naming the field if anything is off."""
    policy = session.execute(_CURRENT_POLICY, {"code": request.policy_code}).scalar_one_or_none()
    if policy is None:
        raise NotFound("policy_code", f"no policy {request.policy_code!r}")
    spec = spec_of(policy)
    verdict, actions, path = request.verdict, request.actions, []
    if request.answers is not None:
        try:
            path, outcome = walk(policy.decision_tree or default_tree(spec), spec, request.answers)
        except TreeError as exc:
            raise _field_error(exc) from exc
        if outcome is None:
            raise FieldError("answers", "the answers stop before the decision tree reaches a verdict")
        if verdict is not None and verdict != outcome.verdict:
            raise FieldError("verdict", f"the decision tree leads to {outcome.verdict!r}, not {verdict!r}")
        verdict = outcome.verdict
        actions = [a.value for a in outcome.actions] if actions is None else actions
    if verdict not in VERDICTS:
        raise FieldError("verdict", f"give answers, or a verdict: one of {', '.join(VERDICTS)}")
    try:
        checked = outcome_of({"verdict": verdict, "actions": actions or []}, spec, where="")
    except TreeError as exc:
        raise _field_error(exc) from exc
    for kind in checked.actions:
        action_type(kind).check_params(request.params)
    if request.cascade and not any(action_type(kind).cascades for kind in checked.actions):
        raise FieldError("cascade", "none of the actions cascades to descendants")
    if not 0 <= request.time_spent_ms <= MAX_TIME_SPENT_MS:
        raise FieldError("time_spent_ms", f"must be from 0 to {MAX_TIME_SPENT_MS} (a day)")
    if len(request.rationale) > MAX_RATIONALE:
        raise FieldError("rationale", f"at most {MAX_RATIONALE} characters")
    return CheckedRequest(policy, checked.verdict, checked.actions, path)


def _field_error(exc: TreeError) -> FieldError:
    """Tree errors name "<where>.<field>" (`where` is empty here); keep the field for the API."""
    return FieldError(exc.field.lstrip("."), exc.message)


def decide_case(session: Session, reviewer: Reviewer, reviewer_actor: Actor, case_id: int, request: DecisionRequest) -> Decision:
    case = held(session, reviewer, case_id)
    if case.kind == CaseKind.APPEAL:
        raise FieldError("case_id", "an appeal case is decided as upheld or overturned, not under the decision tree")
    checked = check_request(session, request)
    subject = session.get_one(Subject, case.subject_id)
    plans = _plans(session, subject, checked, request)
    shared = _grounds(session, checked, request, [case], DecisionKind.REVIEW, plans)
    return _write(
        session, reviewer_actor, subject, checked, request, plans, [case], shared, reviewer_id=reviewer.id, kind=DecisionKind.REVIEW,
    )


class NothingToChange(Exception):
    """The decision would change nothing: no open case to close, no action with an effect."""


def decide_subject(
    session: Session,
    actor: Actor,
    subject_id: int,
    request: DecisionRequest,
    *,
    bulk_operation_id: int | None = None,
    reviewer: Reviewer | None = None,
    unless_unchanged: bool = False,
) -> Decision:
    """The same decision outside a claimed case (a senior's direct action such as a cascade
    takedown, bulk, automated rules); closes its open case.

    `reviewer` is the staff member deciding (None for automation), who must be allowed to see
    the subject. With `unless_unchanged`, a decision that would change nothing is not made
    (`NothingToChange`): a bulk decision run again skips what it already did. A caller that
    records a refusal and carries on runs it in a savepoint: a refusal may come after writes.
    """
    subject = session.get(Subject, subject_id) if reviewer is None else visible_subject(session, reviewer, subject_id)
    if subject is None:
        raise NotFound("subject_id", f"no subject {subject_id}")
    checked = check_request(session, request)
    plans = _plans(session, subject, checked, request)
    cases = session.execute(_OPEN_CASES, {"subject_id": subject_id}).scalars().all()
    if unless_unchanged and not cases and not any(changes_anything(plan) for plan in plans):
        raise NothingToChange(
            f"nothing to change: no open case, and it is already {subject.visibility}" if plans else "no open case to close"
        )
    kind = DecisionKind.BULK if bulk_operation_id else DecisionKind.DIRECT if reviewer else DecisionKind.AUTOMATED
    shared = _grounds(session, checked, request, cases, kind, plans)
    return _write(
        session, actor, subject, checked, request, plans, cases, shared, reviewer_id=reviewer.id if reviewer else None,
        bulk_operation_id=bulk_operation_id, kind=kind,
    )


def lock_for_decisions(session: Session, subject_ids: Sequence[int]) -> None:
    """Lock the subjects' open cases, then the subjects with their accounts, each in id order:
    the order one decision takes them in (its cases, then the subjects it changes) and the
    order routing locks cases in, so a transaction deciding many subjects (a bulk chunk) never
    waits in a cycle with another touching the same ones in another order. The locks are the
    ones an UPDATE takes (`FOR NO KEY UPDATE`), so reports filed meanwhile, whose foreign keys
    only share the key, do not wait for them."""
    ids = sorted(set(subject_ids))
    if not ids:
        return
    session.execute(
        select(Case.id).where(Case.subject_id.in_(ids), Case.status == CASE_OPEN).order_by(Case.id).with_for_update(key_share=True)
    ).all()
    accounts = session.execute(select(Subject.account_id).where(Subject.id.in_(ids), Subject.account_id.is_not(None))).scalars()
    everyone = sorted(set(ids) | set(accounts))
    session.execute(select(Subject.id).where(Subject.id.in_(everyone)).order_by(Subject.id).with_for_update(key_share=True)).all()


def cascade_on_subject(
    session: Session, actor: Actor, reviewer: Reviewer, subject_id: int, policy_code: str, kind: str, rationale: str,
) -> EnforcementAction:
    """A senior's cascading action on a subject (a shop taken down whole): a decision like any
    other, with its policy and rationale; returns the action on the subject itself."""
    if not rationale:
        raise FieldError("rationale", "say why everything under this subject comes down")
    request = DecisionRequest(policy_code, verdict=VIOLATION, actions=[kind], rationale=rationale, cascade=True)
    decision = decide_subject(session, actor, subject_id, request, reviewer=reviewer)
    return session.execute(select(EnforcementAction).where(
        EnforcementAction.decision_id == decision.id, EnforcementAction.subject_id == subject_id,
        EnforcementAction.cascade_of.is_(None),
    )).scalar_one()


def _plans(session: Session, subject: Subject, checked: CheckedRequest, request: DecisionRequest) -> list[ActionPlan]:
    return [
        plan_action(session, subject, kind, request.params, cascade=request.cascade and action_type(kind).cascades)
        for kind in checked.actions
    ]


def _grounds(
    session: Session, checked: CheckedRequest, request: DecisionRequest, cases: Sequence[Case], kind: DecisionKind,
    plans: list[ActionPlan],
) -> Grounds:
    """How the decision is reached, for its row and its statements of reasons; refuses it (before
    anything is written) if a statement of one of its restrictions would be invalid. A strike's
    sanction gets the same statement as a suspension or a ban would, so it is checked as one."""
    automated = kind is DecisionKind.AUTOMATED
    case_ids = [c.id for c in cases]
    shared = statements.grounds(
        session, checked.policy, request.rationale,
        automated_detection=automated or _flagged_by_automation(session, case_ids),
        automated_decision=(AutomatedDecision.FULLY if automated else AutomatedDecision.NOT_AUTOMATED).value,
        case_ids=case_ids,
    )
    now = utcnow()
    statements.check(shared, (
        (action, target, action_type(action).ends_at(now, plan.params))
        for plan in plans
        for action, target in [(plan.kind, plan.target), *((plan.cascade_kind, d) for d in plan.descendants)]
    ), now)
    statements.check(shared, [(Action.BAN, plan.target, None) for plan in plans if action_type(plan.kind).records_strike], now)
    return shared


def _write(
    session: Session,
    actor: Actor,
    subject: Subject,
    checked: CheckedRequest,
    request: DecisionRequest,
    plans: list[ActionPlan],
    cases: Sequence[Case],
    shared: Grounds,
    *,
    reviewer_id: int | None,
    kind: DecisionKind,
    bulk_operation_id: int | None = None,
) -> Decision:
    now = utcnow()
    # The case it is recorded under: a report case where there is one, so that the notices it
    # answers are found through it (the statement's source, the transparency report's notices).
    primary = min(cases, key=lambda c: (c.kind != CaseKind.REPORT, c.id)) if cases else None
    decision = insert_now(session, Decision(
        case_id=primary.id if primary else None, subject_id=subject.id, reviewer_id=reviewer_id,
        policy_id=checked.policy.id, policy_code=checked.policy.code, policy_version=checked.policy.version,
        verdict=checked.verdict, actions=[a.value for a in checked.actions], rationale=request.rationale,
        tree_path=checked.tree_path, time_spent_ms=request.time_spent_ms, bulk_operation_id=bulk_operation_id, created_at=now,
        kind=kind.value, automated_detection=shared.automated_detection, automated_decision=shared.automated_decision,
    ))
    record(
        session, actor=actor, verb="decision.made", object_type="decision", object_id=decision.id,
        after={
            "kind": decision.kind, "subject_id": subject.id, "case_id": decision.case_id, "policy_code": decision.policy_code,
            "policy_version": decision.policy_version, "verdict": decision.verdict, "actions": decision.actions,
            "rationale": decision.rationale, "tree_path": decision.tree_path, "bulk_operation_id": bulk_operation_id,
        },
    )
    applied: list[Applied] = []  # the actions on the subjects themselves, in order, with the strike ladder's sanctions
    for plan in plans:
        applied.append(apply_plan(session, actor, plan, decision_id=decision.id))
        if action_type(plan.kind).records_strike:
            sanction = strikes.add_strike(session, actor, applied[-1].action.subject_id, checked.policy, decision.id)
            if sanction.applied is not None:
                applied.append(sanction.applied)
    founded = checked.verdict == VIOLATION
    closed = _close_reports(session, actor, [c.id for c in cases], decision.id, founded)
    for case in cases:
        before = {"status": case.status, "claimed_by": case.claimed_by}
        case.status, case.decided_at, case.updated_at = CASE_DECIDED, now, now
        case.claimed_by = case.lease_until = None
        record(
            session, actor=actor, verb="case.decided", object_type="case", object_id=case.id,
            before=before, after={"status": case.status, "claimed_by": None, "decision_id": decision.id},
        )
    escalations.record_outcome(session, actor, cases, decision)
    filing_deadline.on_decision(session, actor, decision, checked.policy, primary)
    notices.after_decision(session, actor, decision, subject, closed, applied)
    return decision


def _flagged_by_automation(session: Session, case_ids: list[int]) -> bool:
    """Whether automation detected it: a report from the platform's own detection is in the cases."""
    return bool(case_ids) and session.execute(
        select(Report.id).where(Report.case_id.in_(case_ids), Report.reporter_type == ReporterType.AUTOMATED.value).limit(1)
    ).first() is not None


def _close_reports(session: Session, actor: Actor, case_ids: list[int], decision_id: int, founded: bool) -> Sequence[Report]:
    """Close the decided cases' open reports, and tell the notifiers' records how they were judged;
    returns the reports closed."""
    if not case_ids:
        return []
    reports = session.execute(
        select(Report).where(Report.case_id.in_(case_ids), Report.status == ReportStatus.OPEN.value).order_by(Report.id)
    ).scalars().all()
    status = ReportStatus.ACTIONED if founded else ReportStatus.UNFOUNDED
    for report in reports:
        report.status = status.value
        record(
            session, actor=actor, verb="report.closed", object_type="report", object_id=report.id,
            before={"status": ReportStatus.OPEN.value}, after={"status": status.value, "decision_id": decision_id},
        )
    notifiers.record_outcome(session, actor, reports, founded)
    return reports


def undo_decision(
    session: Session, actor: Actor, decision_id: int, *, reviewer: Reviewer | None, reason: str,
    bulk_operation_id: int | None = None,
) -> UndoResult:
    """Withdraw what a decision applied: each action still standing (with what cascaded from it,
    and the sanctions its strike triggered) and its strikes. The decision itself, and the reports
    it closed, stay on record, but a filing deadline it started is withdrawn. Raises only before
    writing anything."""
    decision = _visible_decision(session, reviewer, decision_id)
    filing_deadline.on_reversed(session, actor, decision, reason)
    for strike in session.execute(
        select(Strike).where(Strike.decision_id == decision_id, Strike.revoked_at.is_(None)).order_by(Strike.id).with_for_update()
    ).scalars():
        strikes.revoke_strike(session, actor, strike.id, reason=reason)
    undone: list[EnforcementAction] = []
    skipped: list[EnforcementAction] = []
    for action in session.execute(
        select(EnforcementAction)
        .where(EnforcementAction.decision_id == decision_id, EnforcementAction.cascade_of.is_(None),
               EnforcementAction.status == APPLIED)
        .order_by(EnforcementAction.id.desc())  # last applied first
        .with_for_update()
    ).scalars().all():
        result = withdraw_action(session, actor, action, reason=reason, bulk_operation_id=bulk_operation_id)
        undone += result.undone
        skipped += result.skipped
    return UndoResult(undone, skipped)


def reverse_decision(session: Session, actor: Actor, reviewer: Reviewer, decision_id: int, reason: str) -> UndoResult:
    """A senior reverses a decision outside an appeal (a mistake found later): everything it
    still has in force is withdrawn, as an overturned appeal would. It needs a reason, which
    the audit events of every subject restored keep; a decision with nothing left in force is
    refused (409) rather than recorded as a reversal that changed nothing."""
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", "say why the decision is reversed: it goes into the audit log of every subject restored")
    if len(reason) > MAX_REASON:
        raise FieldError("reason", f"at most {MAX_REASON} characters")
    _visible_decision(session, reviewer, decision_id)
    standing = session.execute(select(EnforcementAction.id).where(
        EnforcementAction.decision_id == decision_id, EnforcementAction.status == APPLIED).limit(1)).first()
    strikes_left = session.execute(select(Strike.id).where(
        Strike.decision_id == decision_id, Strike.revoked_at.is_(None)).limit(1)).first()
    if standing is None and strikes_left is None:
        raise Conflict("decision_id", f"nothing decision {decision_id} applied is still in force")
    return undo_decision(session, actor, decision_id, reviewer=reviewer, reason=reason)


def _visible_decision(session: Session, reviewer: Reviewer | None, decision_id: int) -> Decision:
    """The decision, unless its subject is hidden from `reviewer` by need-to-know (None: automation)."""
    decision = session.get(Decision, decision_id)
    if decision is None or (reviewer is not None and restricted_subjects(session, reviewer, [decision.subject_id])):
        raise NotFound("decision_id", f"no decision {decision_id}")
    return decision
