"""Appeals (DSA Art. 20): filing one, deciding it upheld or overturned, outcomes for QA.

The host platform files an appeal for its user (against a decision with a violation, named by
`decision_id` or by one of its `action_id`s, both sent in every webhook), or for a notifier
whose notice was found to break no rule (named by the report's `external_id`), within the
appeal window counted from the decision; staff may file one for a user from the console.
Filing is idempotent by (app, external id) and a decision has at most one open appeal: both are
unique indexes the insert meets with ON CONFLICT, so appeals sent together make one row.

Each appeal is a case of kind `appeal` in the Appeals queue, with that queue's SLA. Need-to-know
holds for appeals too: the appeal of a decision on a subject that sits in a queue whose roles
the Appeals queue does not imply (a child-safety case) waits in that queue instead, so only
its own people ever see it.

Someone other than the reviewer of the decision appealed decides it, holding the case like any
other, and never automation: the outcome is a decision of kind `appeal` that judges the
appealed one (same policy; the verdict it reached) and acts only through reversal. Overturning
a violation withdraws everything the decision applied (`decisions.undo_decision`: actions with
their cascades and sanctions, strikes revoked), which delivers the reversals like any undo.
Overturning a notifier's "no violation" reopens the notice and routes it into the subject's
report case, so the subject is reviewed again with the usual decision tree and actions.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, confining_queues, visible_case, visible_subject
from trustdesk.cases.claiming import held
from trustdesk.cases.queues import appeals_queue
from trustdesk.cases.routing import due_at, route_reports
from trustdesk.domain.decision_trees import NO_VIOLATION, VIOLATION
from trustdesk.domain.errors import Conflict, FieldError, Forbidden, NotFound
from trustdesk.domain.legal_deadlines import appeal_closes
from trustdesk.domain.priority import PriorityInput, reach_of, score
from trustdesk.domain.vocabulary import (
    AppealOutcome,
    Appellant,
    AutomatedDecision,
    CaseKind,
    DecisionKind,
    ReportStatus,
)
from trustdesk.enforcement.decisions import CASE_DECIDED, MAX_RATIONALE, MAX_TIME_SPENT_MS, undo_decision
from trustdesk.notices import outcomes as notices
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import (
    Appeal,
    Case,
    CaseSubject,
    Decision,
    EnforcementAction,
    Policy,
    Queue,
    Report,
    StaffUser,
    Subject,
    as_utc,
    utcnow,
)

MAX_STATEMENT = 10_000
# Decisions that judge another one: their outcome is final here (the appellant may go to an
# out-of-court body, DSA Art. 21), so they are not appealed again.
_FINAL = {DecisionKind.APPEAL.value, DecisionKind.SECOND_OPINION.value}


@dataclass(frozen=True)
class AppealRequest:
    """What an appellant sends: their words and which decision they contest (exactly one of
    `decision_id`, `action_id`, `report_external_id`; a notifier uses the last)."""

    appellant: Appellant
    statement: str
    decision_id: int | None = None
    action_id: int | None = None
    report_external_id: str | None = None
    external_id: str | None = None

    def body_hash(self) -> str:
        """Identifies the content, so a retry can be told from a different appeal with the same id."""
        return hashlib.sha256(orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Filer:
    """Who files: a host-platform client (its app) or a staff member (need-to-know applies)."""

    actor: Actor
    app_id: int | None = None
    staff: Reviewer | None = None


def file_appeal(
    session: Session, filer: Filer, request: AppealRequest, *, window: timedelta, now: datetime | None = None,
) -> tuple[Appeal, bool]:
    """File an appeal and open its case; returns it and whether it is new (False: an identical retry)."""
    if filer.app_id is not None and request.external_id:
        known = _known(session, filer.app_id, request)
        if known is not None:
            return known, False
    now = now or utcnow()
    statement = request.statement.strip()
    if not statement or len(statement) > MAX_STATEMENT:
        raise FieldError("statement", f"say why the decision is wrong, in 1 to {MAX_STATEMENT} characters")
    field, decision, report = _appealed(session, filer, request)
    _check_appealable(request.appellant, field, decision, window, now)
    subject = session.get_one(Subject, decision.subject_id)
    row = {
        "app_id": subject.app_id, "external_id": request.external_id, "appellant": request.appellant.value,
        "statement": statement, "decision_id": decision.id, "report_id": report.id if report else None,
        "original_reviewer_id": decision.reviewer_id, "filed_by": filer.actor.label, "body_hash": request.body_hash(),
        "created_at": now,
    }
    # Any unique index may refuse the row: the (app, external id) of a concurrent retry, or the
    # decision's one open appeal.
    appeal_id = session.execute(
        conflict_insert(session, Appeal).values(row).on_conflict_do_nothing().returning(Appeal.id)
    ).scalar_one_or_none()
    if appeal_id is None:
        known = _known(session, subject.app_id, request) if request.external_id else None
        if known is not None:
            return known, False
        open_id = session.execute(select(Appeal.id).where(Appeal.decision_id == decision.id, Appeal.outcome.is_(None))).scalar()
        raise Conflict(field, f"decision {decision.id} already has an open appeal ({open_id}); it is decided once")
    appeal = session.get_one(Appeal, appeal_id)
    appeal.case_id = _open_case(session, filer.actor, appeal, decision, subject, now).id
    record(session, actor=filer.actor, verb="appeal.filed", object_type="appeal", object_id=appeal.id, after={
        "appellant": appeal.appellant, "decision_id": decision.id, "report_id": appeal.report_id, "case_id": appeal.case_id,
        "external_id": appeal.external_id, "statement": statement,
    })
    return appeal, True


def _known(session: Session, app_id: int, request: AppealRequest) -> Appeal | None:
    """The appeal already filed under this external id; a Conflict if its content differs."""
    appeal = session.execute(
        select(Appeal).where(Appeal.app_id == app_id, Appeal.external_id == request.external_id)
    ).scalar_one_or_none()
    if appeal is not None and appeal.body_hash != request.body_hash():
        raise Conflict("external_id", f"{request.external_id!r} was already filed with different content; it cannot be changed")
    return appeal


def _appealed(session: Session, filer: Filer, request: AppealRequest) -> tuple[str, Decision, Report | None]:
    """The decision appealed, the field that named it, and the notifier's report."""
    given = [name for name in ("decision_id", "action_id", "report_external_id") if getattr(request, name) is not None]
    wanted = ("report_external_id",) if request.appellant is Appellant.NOTIFIER else ("decision_id", "action_id")
    if len(given) != 1 or given[0] not in wanted:
        raise FieldError(wanted[0], f"a {request.appellant.value} names the decision by exactly one of {', '.join(wanted)}")
    field = given[0]
    report = None
    if field == "decision_id":
        decision = session.get(Decision, request.decision_id)
    elif field == "action_id":
        action = session.get(EnforcementAction, request.action_id)
        decision = session.get(Decision, action.decision_id) if action and action.decision_id else None
    else:
        report = session.execute(select(Report).where(
            Report.app_id == filer.app_id, Report.external_id == request.report_external_id
        )).scalar_one_or_none()
        decision = _decision_on(session, report) if report else None
        if report is not None and decision is None:
            raise FieldError(field, f"notice {request.report_external_id!r} has not been decided yet")
    if decision is None or not _may_appeal_on(session, filer, decision):
        raise NotFound(field, f"no decision for {field} {getattr(request, field)!r}")
    return field, decision, report


def _decision_on(session: Session, report: Report) -> Decision | None:
    """The decision that closed the report: the last one taken on its case."""
    if report.case_id is None or report.status == ReportStatus.OPEN.value:
        return None
    return session.execute(
        select(Decision).where(Decision.case_id == report.case_id, Decision.kind.not_in(_FINAL)).order_by(Decision.id.desc()).limit(1)
    ).scalar_one_or_none()


def _may_appeal_on(session: Session, filer: Filer, decision: Decision) -> bool:
    if filer.staff is not None:
        try:
            visible_subject(session, filer.staff, decision.subject_id)
        except NotFound:
            return False
        return True
    return session.execute(select(Subject.app_id).where(Subject.id == decision.subject_id)).scalar_one() == filer.app_id


def _check_appealable(appellant: Appellant, field: str, decision: Decision, window: timedelta, now: datetime) -> None:
    if decision.kind in _FINAL:
        raise FieldError(field, "this decision is itself the outcome of an appeal; it is final")
    if appellant is Appellant.USER and not user_may_appeal(decision):
        raise FieldError(field, "this decision found no violation: nothing was decided against the user")
    if appellant is Appellant.NOTIFIER and decision.verdict != NO_VIOLATION:
        raise FieldError(field, "the notice was acted on; a notifier appeals a decision that found no violation")
    closes = appeal_closes(as_utc(decision.created_at), window)
    if now > closes:
        raise FieldError(field, f"the appeal window closed on {closes:%Y-%m-%d}: a decision may be appealed for "
                                f"{window.days} days, and at least six months")


def _open_case(session: Session, actor: Actor, appeal: Appeal, decision: Decision, subject: Subject, now: datetime) -> Case:
    queue = _queue_for(session, actor, subject.id)
    policy = session.execute(select(Policy).where(Policy.code == decision.policy_code, Policy.is_current.is_(True))).scalar_one()
    priority = score(PriorityInput(severity=policy.severity, reach=reach_of(subject.reach or {})))
    opened = Case(
        app_id=subject.app_id, subject_id=subject.id, queue_id=queue.id, kind=CaseKind.APPEAL.value, status="open",
        band=priority.band.value, priority_score=priority.score, priority_reasons=priority.reasons, report_count=0,
        policy_code=decision.policy_code, routed_by=f"appeal:{queue.name}", due_at=due_at(now, queue, priority.band),
        created_at=now, updated_at=now,
    )
    session.add(opened)
    session.flush()
    session.add(CaseSubject(case_id=opened.id, subject_id=subject.id))
    record(session, actor=actor, verb="case.opened", object_type="case", object_id=opened.id, after={
        "kind": opened.kind, "subject_id": subject.id, "queue_id": queue.id, "routed_by": opened.routed_by, "band": opened.band,
        "priority_score": opened.priority_score, "due_at": opened.due_at, "appeal_id": appeal.id,
    })
    return opened


def _queue_for(session: Session, actor: Actor, subject_id: int) -> Queue:
    """The Appeals queue, unless the subject sits in a queue that admits fewer people: then that
    one (a legal request's queue aside: the request is its staff's, the appeal is not)."""
    appeals = appeals_queue(session, actor)
    return confining_queues(session, {subject_id: appeals}).get(subject_id, appeals)


# --- deciding -----------------------------------------------------------------------------


def decide_appeal(
    session: Session, reviewer: Reviewer, actor: Actor, case_id: int, outcome: str, rationale: str, time_spent_ms: int = 0,
) -> Appeal:
    """Decide the appeal case the reviewer holds: upheld, or overturned and reversed."""
    try:
        verdict = AppealOutcome(outcome)
    except ValueError:
        raise FieldError("outcome", "upheld or overturned") from None
    rationale = rationale.strip()
    if not rationale or len(rationale) > MAX_RATIONALE:
        raise FieldError("rationale", f"say why, in 1 to {MAX_RATIONALE} characters: it goes to the appellant")
    if not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS:
        raise FieldError("time_spent_ms", f"must be from 0 to {MAX_TIME_SPENT_MS} (a day)")
    case = held(session, reviewer, case_id)
    appeal = session.execute(select(Appeal).where(Appeal.case_id == case.id).with_for_update()).scalar_one_or_none()
    if appeal is None:
        raise FieldError("case_id", f"case {case_id} is not an appeal")
    if appeal.original_reviewer_id == reviewer.id:
        raise Forbidden("case_id", "you made the decision under appeal; someone else decides the appeal")
    original = session.get_one(Decision, appeal.decision_id)
    now = utcnow()
    reached = original.verdict if verdict is AppealOutcome.UPHELD else (NO_VIOLATION if original.verdict == VIOLATION else VIOLATION)
    judged = Decision(
        case_id=case.id, subject_id=original.subject_id, reviewer_id=reviewer.id, policy_id=original.policy_id,
        policy_code=original.policy_code, policy_version=original.policy_version, verdict=reached, actions=[],
        rationale=rationale, tree_path=[], time_spent_ms=time_spent_ms, kind=DecisionKind.APPEAL.value,
        automated_detection=original.automated_detection, automated_decision=AutomatedDecision.NOT_AUTOMATED.value,
        judges_decision_id=original.id, created_at=now,
    )
    session.add(judged)
    session.flush()
    record(session, actor=actor, verb="decision.made", object_type="decision", object_id=judged.id, after={
        "kind": judged.kind, "subject_id": judged.subject_id, "case_id": case.id, "policy_code": judged.policy_code,
        "policy_version": judged.policy_version, "verdict": reached, "judges_decision_id": original.id, "rationale": rationale,
    })
    restored: list[EnforcementAction] = []
    if verdict is AppealOutcome.OVERTURNED and original.verdict == VIOLATION:
        restored = undo_decision(session, actor, original.id, reviewer=reviewer, reason=f"overturned on appeal {appeal.id}").undone
    elif verdict is AppealOutcome.OVERTURNED:
        _review_notice_again(session, actor, appeal)
    before = {"status": case.status, "claimed_by": case.claimed_by}
    case.status, case.decided_at, case.updated_at = CASE_DECIDED, now, now
    case.claimed_by = case.lease_until = None
    record(session, actor=actor, verb="case.decided", object_type="case", object_id=case.id,
           before=before, after={"status": case.status, "claimed_by": None, "decision_id": judged.id})
    appeal.outcome, appeal.outcome_decision_id, appeal.decided_by, appeal.decided_at = verdict.value, judged.id, reviewer.id, now
    record(session, actor=actor, verb="appeal.decided", object_type="appeal", object_id=appeal.id,
           before={"outcome": None}, after={"outcome": appeal.outcome, "decision_id": judged.id})
    notices.after_appeal(session, actor, appeal, judged, restored)
    return appeal


def _review_notice_again(session: Session, actor: Actor, appeal: Appeal) -> None:
    """A notice wrongly found to break no rule goes back into its subject's report case."""
    report = session.get_one(Report, appeal.report_id, with_for_update=True)
    before = {"status": report.status, "case_id": report.case_id}
    report.status, report.case_id = ReportStatus.OPEN.value, None
    session.flush()
    record(session, actor=actor, verb="report.reopened", object_type="report", object_id=report.id,
           before=before, after={"status": report.status, "appeal_id": appeal.id})
    route_reports(session, actor, report.app_id, [report.id])


# --- reading ------------------------------------------------------------------------------


def client_appeal(session: Session, app_id: int, appeal_id: int) -> Appeal:
    """An appeal as the app that filed it reads it; another app's is not found."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.app_id != app_id:
        raise NotFound("appeal_id", f"no appeal {appeal_id}")
    return appeal


@dataclass
class AppealFile:
    """What the appeal case page shows: the appeal, the decision appealed with who made it, the
    actions it took and the reports it judged."""

    appeal: Appeal
    original: Decision
    original_reviewer: str | None  # None: automation decided
    actions: list[EnforcementAction]
    reports: list[Report]
    decided_by: str | None


def appeal_file(session: Session, reader: Reviewer, case_id: int) -> AppealFile | None:
    """The appeal behind a case `reader` may see (None: the case is no appeal)."""
    visible_case(session, reader, case_id)
    appeal = session.execute(select(Appeal).where(Appeal.case_id == case_id)).scalar_one_or_none()
    if appeal is None:
        return None
    original = session.get_one(Decision, appeal.decision_id)
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name).where(
        StaffUser.id.in_([i for i in (original.reviewer_id, appeal.decided_by) if i])
    )).all())
    actions = list(session.execute(
        select(EnforcementAction).where(EnforcementAction.decision_id == original.id, EnforcementAction.cascade_of.is_(None))
        .order_by(EnforcementAction.id)
    ).scalars())
    reports = list(session.execute(
        select(Report).where(Report.case_id == original.case_id).order_by(Report.id).limit(200)
    ).scalars()) if original.case_id else []
    return AppealFile(appeal, original, names.get(original.reviewer_id or 0), actions, reports, names.get(appeal.decided_by or 0))


def decisions_on(session: Session, subject_id: int, limit: int = 50) -> list[tuple[Decision, Appeal | None]]:
    """The subject's decisions, newest first, each with its latest appeal (the subject page's list)."""
    decisions = list(session.execute(
        select(Decision).where(Decision.subject_id == subject_id).order_by(Decision.id.desc()).limit(limit)
    ).scalars())
    latest: dict[int, Appeal] = {}
    for appeal in session.execute(
        select(Appeal).where(Appeal.decision_id.in_([d.id for d in decisions])).order_by(Appeal.id)
    ).scalars():
        latest[appeal.decision_id] = appeal
    return [(d, latest.get(d.id)) for d in decisions]


def user_may_appeal(decision: Decision) -> bool:
    """Whether the user may appeal it: a violation, not itself an appeal's outcome."""
    return decision.verdict == VIOLATION and decision.kind not in _FINAL


@dataclass(frozen=True)
class OutcomeCount:
    reviewer_id: int | None  # None: decisions automation took
    reviewer: str | None
    policy_code: str
    upheld: int
    overturned: int


def outcome_counts(session: Session) -> list[OutcomeCount]:
    """Decided appeals by the reviewer of the decision appealed and its policy, for QA."""
    upheld = func.sum(when((Appeal.outcome == AppealOutcome.UPHELD.value, 1), else_=0))
    overturned = func.sum(when((Appeal.outcome == AppealOutcome.OVERTURNED.value, 1), else_=0))
    rows = session.execute(
        select(Appeal.original_reviewer_id, StaffUser.username, Decision.policy_code, upheld, overturned)
        .join(Decision, Decision.id == Appeal.decision_id)
        .outerjoin(StaffUser, StaffUser.id == Appeal.original_reviewer_id)
        .where(Appeal.outcome.is_not(None))
        .group_by(Appeal.original_reviewer_id, StaffUser.username, Decision.policy_code)
        .order_by(StaffUser.username, Decision.policy_code)
    ).all()
    return [OutcomeCount(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]
