"""From filed reports to cases: group by subject, route to a queue, score, set the SLA.

Runs inside the intake transaction, so a report is never filed without its case. All open
reports on a subject share one case (of kind `report`: the database holds at most one open per
subject, so concurrent first reports cannot open two); a report on a subject that already has
an open case joins it and the case is re-scored from all of its reports. Routing tries each active queue's
CEL expression in order (first match wins) and falls back to the default queue.

Routing and priority also see the subject's latest automated signals. Analysers run after
intake, in the worker, so when their signals arrive `reconsider` re-scores the subject's open
case and routes it again (`case.rescored`, `case.rerouted`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from trustdesk.analysis.signals import as_routing, latest_signals
from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, may_work, visible_case
from trustdesk.cases.queues import ROUTING_SCHEMA, fallback_queue
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.priority import (
    IMMINENT_HARM_BOOST,
    Band,
    NotifierStanding,
    Priority,
    PriorityInput,
    carry_escalation,
    notifier_points,
    reach_of,
    score,
    severity_of,
    signal_points,
    with_signals,
)
from trustdesk.domain.vocabulary import CaseKind, ReporterType, ReportStatus
from trustdesk.enforcement import notifiers
from trustdesk.rules.expressions import Expression, ExpressionError, compile_expression
from trustdesk.store import counters
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import (
    OPEN_REPORT_CASE,
    App,
    Case,
    CaseSubject,
    Policy,
    Queue,
    Report,
    Signal,
    Subject,
    as_utc,
    utcnow,
)

_REPORT_COLUMNS = (Report.id, Report.subject_id, Report.policy_code, Report.reporter_type, Report.reporter_subject_id,
                   Report.notifier_email, Report.imminent_harm, Report.text)
# Compiled routing expressions by (queue id, source): compiling is pure, so a per-process memo is safe.
_compiled: dict[tuple[int, str], Expression] = {}


def _expression(queue: Queue) -> Expression:
    key = (queue.id, queue.routing_expression or "")
    if key not in _compiled:
        _compiled[key] = compile_expression(queue.routing_expression or "false", ROUTING_SCHEMA, condition=True)
    return _compiled[key]


def _queues(session: Session, actor: Actor) -> tuple[list[Queue], Queue]:
    queues = list(session.execute(select(Queue).where(Queue.active.is_(True)).order_by(Queue.position, Queue.id)).scalars())
    default = next((q for q in queues if q.is_default), None)
    if default is None:  # never leave a report without a queue
        default = fallback_queue(session, actor)
    return [q for q in queues if not q.is_default and q.routing_expression], default


def default_queue(session: Session, actor: Actor) -> Queue:
    """Where a case goes when nothing routes it: the default queue (made if there is none)."""
    return _queues(session, actor)[1]


def _route(queues: list[Queue], default: Queue, context: dict[str, Any]) -> tuple[Queue, str]:
    for queue in queues:
        try:
            if _expression(queue).matches(context):
                return queue, f"queue:{queue.name}"
        except ExpressionError:
            continue  # an expression that fails on this input does not match it
    return default, "default"


def _context(report: Any, subject: Any, policy: Policy, app_slug: str, signals: list[Signal]) -> dict[str, Any]:
    return {
        "report": {"policy": report.policy_code, "source": report.reporter_type, "text": report.text or "",
                   "imminent_harm": bool(report.imminent_harm)},
        "subject": {"kind": subject.kind, "language": subject.language or "", "country": subject.country or "", "app": app_slug},
        "policy": {"code": policy.code, "severity": policy.severity, "graphic": policy.graphic},
        "signals": as_routing(signals),
    }


def _standing(report: Any, records: dict[str, NotifierStanding]) -> NotifierStanding:
    if report.reporter_type == ReporterType.TRUSTED_FLAGGER:
        return NotifierStanding(trusted_flagger=True)
    key = notifiers.notifier_key(report)
    return records.get(key, NotifierStanding()) if key else NotifierStanding()  # anonymous: neutral


def _signal_points(signals: list[Signal]) -> float:
    return signal_points((s.score, s.match) for s in signals)


def _priority(reports: list[Any], subject: Any, policies: dict[str, Policy], records: dict[str, NotifierStanding],
              signals: list[Signal], case: Case | None = None) -> Priority:
    """Score new reports, on top of the stored components of the case they join (if any)."""
    severity = max(policies[r.policy_code].severity for r in reports)
    points = notifier_points(_standing(r, records) for r in reports)
    if case is not None:
        severity = max(severity, severity_of(case.priority_reasons))
        points = max(points, case.priority_reasons.get("notifier", points))
    return score(
        PriorityInput(
            severity=severity,
            reach=reach_of(subject.reach or {}),
            report_count=len(reports) + (case.report_count if case else 0),
            notifier_points=points,
            imminent_harm=any(r.imminent_harm for r in reports) or bool(case and case.imminent_harm),
            signal_points=_signal_points(signals),
        )
    )


def due_at(opened: datetime, queue: Queue, band: Band) -> datetime:
    return as_utc(opened) + timedelta(minutes=int(queue.sla_minutes.get(band.value, 1440)))


def route_reports(session: Session, actor: Actor, app_id: int, report_ids: list[int], *, now: datetime | None = None) -> None:
    """Put newly filed reports into cases (new or existing); suspended notifiers' are held back.

    `now` is when the reports arrived: a new case opens then and its SLA counts from then.
    A subject's open report case is unique in the database: reports whose subject has one join
    it (locked, in id order); for the others a case is inserted with ON CONFLICT DO NOTHING, and
    where another transaction opened one first, the reports join that one instead.
    """
    if not report_ids:
        return
    new_reports = session.execute(select(*_REPORT_COLUMNS).where(Report.id.in_(report_ids))).all()
    subject_ids = {r.subject_id for r in new_reports}
    subjects = {s.id: s for s in session.execute(
        select(Subject.id, Subject.kind, Subject.language, Subject.country, Subject.reach).where(Subject.id.in_(subject_ids))
    )}
    policies = {p.code: p for p in session.execute(select(Policy).where(Policy.is_current.is_(True))).scalars()}
    keys = {k for r in new_reports if (k := notifiers.notifier_key(r))}
    records = notifiers.standing(session, keys)
    held_back = [r for r in new_reports if (k := notifiers.notifier_key(r)) and records.get(k, NotifierStanding()).suspended]
    if held_back:
        _hold_back(session, actor, held_back)
    held_ids = {r.id for r in held_back}
    groups: dict[int, list[Any]] = defaultdict(list)
    for r in new_reports:
        if r.id not in held_ids:
            groups[r.subject_id].append(r)
    if not groups:
        return
    routing = _Routing(session, actor, app_id, policies, records, now or utcnow(), latest_signals(session, groups))
    links: list[dict[str, int]] = []
    waiting = dict(groups)
    while waiting:  # a second round only for subjects whose case another transaction opened meanwhile
        for case in _open_report_cases(session, waiting):
            group = waiting.pop(case.subject_id)
            routing.join(case, group, subjects[case.subject_id])
            links.extend({"report_id": r.id, "case": case.id} for r in group)
        opened = routing.open_cases({subject_id: (subjects[subject_id], group) for subject_id, group in waiting.items()})
        for subject_id, case_id in opened.items():
            links.extend({"report_id": r.id, "case": case_id} for r in waiting.pop(subject_id))
    session.execute(
        update(Report.__table__).where(Report.__table__.c.id == bindparam("report_id")).values(case_id=bindparam("case")),
        links,
    )


def _open_report_cases(session: Session, subject_ids: Iterable[int]) -> list[Case]:
    """The subjects' open report cases, locked in id order (so that two transactions routing
    reports on the same subjects take the locks in the same order)."""
    return list(session.execute(
        select(Case)
        .where(Case.subject_id.in_(list(subject_ids)), Case.status == "open", Case.kind == CaseKind.REPORT.value)
        .order_by(Case.id)
        .with_for_update()
    ).scalars())


class _Routing:
    """What routing one transaction's reports needs: the queues, policies and notifier records."""

    def __init__(self, session: Session, actor: Actor, app_id: int, policies: dict[str, Policy],
                 records: dict[str, NotifierStanding], now: datetime, signals: dict[int, list[Signal]]) -> None:
        self.session, self.actor, self.app_id, self.policies, self.records, self.now = session, actor, app_id, policies, records, now
        self.signals = signals
        self.queues, self.default = _queues(session, actor)
        self.queue_by_id = {q.id: q for q in [*self.queues, self.default]}
        self.app_slug = session.execute(select(App.slug).where(App.id == app_id)).scalar_one()

    def lead(self, group: list[Any]) -> Any:
        return max(group, key=lambda r: (r.imminent_harm, self.policies[r.policy_code].severity))

    def open_cases(self, waiting: dict[int, tuple[Any, list[Any]]]) -> dict[int, int]:
        """Open a report case for each subject, unless another transaction opened one first
        (the unique open-report-case index); subject id → new case id for the ones opened."""
        if not waiting:
            return {}
        rows = []
        for subject_id in sorted(waiting):  # inserted in subject order: index entries taken in one order
            subject, group = waiting[subject_id]
            lead = self.lead(group)
            signals = self.signals.get(subject_id, [])
            queue, routed_by = _route(self.queues, self.default, _context(lead, subject, self.policies[lead.policy_code], self.app_slug, signals))
            priority = _priority(group, subject, self.policies, self.records, signals)
            rows.append({
                "app_id": self.app_id, "subject_id": subject_id, "kind": CaseKind.REPORT.value, "queue_id": queue.id,
                "status": "open", "band": priority.band.value, "priority_score": priority.score,
                "priority_reasons": priority.reasons, "imminent_harm": "imminent_harm" in priority.reasons,
                "report_count": len(group), "policy_code": lead.policy_code, "routed_by": routed_by,
                "due_at": due_at(self.now, queue, priority.band), "created_at": self.now, "updated_at": self.now,
            })
        statement = conflict_insert(self.session, Case).on_conflict_do_nothing(
            index_elements=["subject_id"], index_where=OPEN_REPORT_CASE
        )
        opened = dict(self.session.execute(statement.returning(Case.subject_id, Case.id), rows).all())
        counters.inserted(self.session, Case, [row for row in rows if row["subject_id"] in opened])
        if opened:
            self.session.execute(insert(CaseSubject), [{"case_id": c, "subject_id": s} for s, c in sorted(opened.items())])
        for row in rows:
            if row["subject_id"] in opened:
                record(self.session, actor=self.actor, verb="case.opened", object_type="case", object_id=opened[row["subject_id"]], after={
                    "subject_id": row["subject_id"], "queue_id": row["queue_id"], "routed_by": row["routed_by"],
                    "band": row["band"], "priority_score": row["priority_score"], "reasons": row["priority_reasons"],
                    "due_at": row["due_at"], "reports": [r.id for r in waiting[row["subject_id"]][1]],
                })
        return opened

    def join(self, case: Case, group: list[Any], subject: Any) -> None:
        """Add reports to an open case (locked by the caller) and re-score it from all of them."""
        session, lead = self.session, self.lead(group)
        before = {"band": case.band, "priority_score": case.priority_score, "report_count": case.report_count,
                  "queue_id": case.queue_id, "due_at": case.due_at}
        # A case at a tier keeps its escalation's points and stays in its tier's queue.
        signals = self.signals.get(case.subject_id, [])
        priority = carry_escalation(_priority(group, subject, self.policies, self.records, signals, case), case.priority_reasons)
        if priority.band == Band.P0 and not case.imminent_harm and lead.imminent_harm and case.tier is None:
            context = _context(lead, subject, self.policies[lead.policy_code], self.app_slug, signals)
            queue, case.routed_by = _route(self.queues, self.default, context)
            case.queue_id = queue.id
        queue = self.queue_by_id.get(case.queue_id) or session.get_one(Queue, case.queue_id)
        case.band, case.priority_score, case.priority_reasons = priority.band.value, priority.score, priority.reasons
        case.imminent_harm = "imminent_harm" in priority.reasons
        case.report_count += len(group)
        case.due_at = min(as_utc(case.due_at), due_at(case.created_at, queue, priority.band))
        case.updated_at = self.now
        record(session, actor=self.actor, verb="case.reports_added", object_type="case", object_id=case.id, before=before, after={
            "band": case.band, "priority_score": case.priority_score, "report_count": case.report_count,
            "queue_id": case.queue_id, "due_at": case.due_at, "reports": [r.id for r in group],
        })


def reconsider(session: Session, actor: Actor, subject_ids: Iterable[int]) -> None:
    """Re-score and re-route the subjects' open report cases for their latest signals.

    The signals component of the priority is replaced (the band only moves up); a case not at a
    tier is routed again as its lead report was, now with the signals, and moves if another
    queue takes it. A case that moves leaves its reviewer's hands (claim and assignment end),
    since the queue it goes to may need roles or languages they lack.
    """
    wanted = sorted(set(subject_ids))
    cases = _open_report_cases(session, wanted) if wanted else []
    if not cases:
        return
    signals = latest_signals(session, [c.subject_id for c in cases])
    policies = {p.code: p for p in session.execute(select(Policy).where(Policy.is_current.is_(True))).scalars()}
    subjects = {s.id: s for s in session.execute(
        select(Subject.id, Subject.kind, Subject.language, Subject.country).where(Subject.id.in_([c.subject_id for c in cases]))
    )}
    reports: dict[int, list[Any]] = defaultdict(list)
    for r in session.execute(select(*_REPORT_COLUMNS, Report.case_id).where(Report.case_id.in_([c.id for c in cases]))):
        reports[r.case_id].append(r)
    slugs = dict(session.execute(select(App.id, App.slug).where(App.id.in_({c.app_id for c in cases}))).all())
    queues, default = _queues(session, actor)
    now = utcnow()
    for case in cases:
        found = signals.get(case.subject_id, [])
        queue = _rescore(session, actor, case, _signal_points(found), now)
        if case.tier is not None or not reports[case.id]:
            continue
        lead = max(reports[case.id], key=lambda r: (r.imminent_harm, policies[r.policy_code].severity if r.policy_code in policies else 0))
        policy = policies.get(lead.policy_code)
        if policy is None:  # a retired policy: the case stays where it is
            continue
        # A reviewer's imminent-harm flag routed the case as imminent harm: it still is.
        routed_as = _Flag(lead.policy_code, lead.reporter_type, lead.text or "", lead.imminent_harm or case.imminent_harm)
        to, routed_by = _route(queues, default, _context(routed_as, subjects[case.subject_id], policy, slugs[case.app_id], found))
        if to.id != queue.id:
            before = {"queue_id": case.queue_id, "routed_by": case.routed_by, "due_at": case.due_at,
                      "claimed_by": case.claimed_by, "assigned_to": case.assigned_to}
            case.queue_id, case.routed_by = to.id, routed_by
            case.claimed_by = case.lease_until = case.assigned_to = None
            case.due_at = min(as_utc(case.due_at), due_at(case.created_at, to, Band(case.band)))
            case.updated_at = now
            record(session, actor=actor, verb="case.rerouted", object_type="case", object_id=case.id, before=before, after={
                "queue_id": case.queue_id, "routed_by": routed_by, "due_at": case.due_at, "claimed_by": None,
                "assigned_to": None, "signals": [s.id for s in found],
            })


def _rescore(session: Session, actor: Actor, case: Case, points: float, now: datetime) -> Queue:
    """Give the case its new signals component (audited when the score or band changes); its queue."""
    queue = session.get_one(Queue, case.queue_id)
    priority = with_signals(case.priority_score, Band(case.band), case.priority_reasons, points)
    if (priority.score, priority.band.value) == (case.priority_score, case.band):
        return queue
    before = {"band": case.band, "priority_score": case.priority_score, "reasons": case.priority_reasons, "due_at": case.due_at}
    case.band, case.priority_score, case.priority_reasons = priority.band.value, priority.score, priority.reasons
    case.due_at = min(as_utc(case.due_at), due_at(case.created_at, queue, priority.band))
    case.updated_at = now
    record(session, actor=actor, verb="case.rescored", object_type="case", object_id=case.id, before=before, after={
        "band": case.band, "priority_score": case.priority_score, "reasons": case.priority_reasons, "due_at": case.due_at,
    })
    return queue


def _hold_back(session: Session, actor: Actor, reports: list[Any]) -> None:
    """Notices from a suspended notifier are kept on record but not queued (DSA Art. 23(2))."""
    session.execute(update(Report).where(Report.id.in_([r.id for r in reports])).values(status=ReportStatus.HELD.value))
    for report in reports:
        counters.changed(session, Report, {"policy_code": report.policy_code, "status": ReportStatus.OPEN.value},
                         {"policy_code": report.policy_code, "status": ReportStatus.HELD.value})
        record(session, actor=actor, verb="report.held_back", object_type="report", object_id=report.id,
               after={"status": ReportStatus.HELD.value, "reason": "notifier suspended for manifestly unfounded notices"})


def flag_imminent_harm(session: Session, actor: Actor, flagger: Reviewer, case_id: int, reason: str) -> Case:
    """A reviewer's imminent-harm flag: top priority, the shortest SLA, the imminent-harm route.

    If the route moves the case to a queue the flagger may not work, their claim ends there so
    that someone who may takes it; an assignment ends with any move to another queue.
    """
    case = visible_case(session, flagger, case_id, lock=True)
    if case.status != "open":
        raise Conflict("case_id", f"case {case_id} is {case.status}")
    if not reason.strip():
        raise FieldError("reason", "say what the imminent harm is")
    before = {"band": case.band, "priority_score": case.priority_score, "queue_id": case.queue_id, "due_at": case.due_at,
              "claimed_by": case.claimed_by, "assigned_to": case.assigned_to}
    queues, default = _queues(session, actor)
    subject = session.get(Subject, case.subject_id)
    policy = session.execute(select(Policy).where(Policy.code == case.policy_code, Policy.is_current.is_(True))).scalar_one()
    app_slug = session.execute(select(App.slug).where(App.id == case.app_id)).scalar_one()
    flagged = _Flag(case.policy_code, ReporterType.SUPPORT.value, reason, True)
    signals = latest_signals(session, [case.subject_id]).get(case.subject_id, [])
    queue, routed_by = _route(queues, default, _context(flagged, subject, policy, app_slug, signals))
    if case.tier is not None:  # a case at a tier stays in its tier's queue
        queue, routed_by = session.get_one(Queue, case.queue_id), case.routed_by
    if not case.imminent_harm:
        case.priority_score += IMMINENT_HARM_BOOST
        case.priority_reasons = {**case.priority_reasons, "imminent_harm": IMMINENT_HARM_BOOST}
    if queue.id != case.queue_id:
        case.assigned_to = None
        if not may_work(queue, flagger):
            case.claimed_by = case.lease_until = None
    case.band, case.imminent_harm, case.queue_id, case.routed_by = Band.P0.value, True, queue.id, routed_by
    case.due_at = min(as_utc(case.due_at), due_at(utcnow(), queue, Band.P0))
    case.updated_at = utcnow()
    record(session, actor=actor, verb="case.imminent_harm_flagged", object_type="case", object_id=case.id, before=before,
           after={"band": case.band, "priority_score": case.priority_score, "queue_id": case.queue_id, "due_at": case.due_at,
                  "claimed_by": case.claimed_by, "assigned_to": case.assigned_to, "reason": reason})
    return case


@dataclass(frozen=True)
class _Flag:
    """A reviewer's flag, shaped like a report for the routing context."""

    policy_code: str
    reporter_type: str
    text: str
    imminent_harm: bool
