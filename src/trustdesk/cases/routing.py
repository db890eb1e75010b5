"""From filed reports to cases: group by subject, route to a queue, score, set the SLA.

Runs inside the intake transaction, so a report is never filed without its case. All open
reports on a subject share one case (of kind `report`: the database holds at most one open per
subject, so concurrent first reports cannot open two); a report on a subject that already has
an open case joins it and the case is re-scored from all of its reports. Routing tries each active queue's
CEL expression in order (first match wins) and falls back to the default queue.

Routing and priority also see the subject's latest automated signals. Analysers run after
intake, in the worker, so when their signals arrive `reconsider` re-scores the subject's open
case and routes it again (`case.rescored`, `case.rerouted`).

Both moments are events for the rules (`trustdesk.rules`): the inputs are read once
(`rules.inputs`), queue expressions and rules are evaluated on them, and the evaluation is kept
with its inputs, errors and hits. A live rule's route effect takes precedence over the queues'
expressions; its points and band, and its labels, go on the case; its action is taken as an
automated decision once the reports are in their case. An expression that fails is recorded
on the evaluation and in metrics, and the report goes to the default queue. An automated
report (the review a synchronous check or new signals ask for) is routed by the evaluation that
filed it, not evaluated again: the rules saw that content already, and its hits count once.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from trustdesk.analysis.signals import LatestSignal, latest_signals
from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import LEGAL_KINDS, Reviewer, confining_queues, may_work, narrower, visible_case
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
    with_rules,
    with_signals,
)
from trustdesk.domain.vocabulary import CaseKind, ReporterType, ReportStatus
from trustdesk.enforcement import notifiers
from trustdesk.privacy.processing import withheld_from_automation
from trustdesk.rules import evaluations
from trustdesk.rules.engine import Effects, RuleSet, count_errors, expression_error, routing_context, rule_set
from trustdesk.rules.evaluations import Evaluated
from trustdesk.rules.expressions import Expression, ExpressionError, Prepared, compile_expression
from trustdesk.rules.inputs import Event, build_inputs
from trustdesk.rules.versions import active_rules
from trustdesk.store import counters
from trustdesk.store.dialects import InIds, conflict_insert, dialect_name
from trustdesk.store.models import (
    OPEN_REPORT_CASE,
    Case,
    CaseSubject,
    Policy,
    Queue,
    Report,
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


_ACTIVE_QUEUES = select(Queue).where(Queue.active.is_(True)).order_by(Queue.position, Queue.id)  # built once: every routing reads them


def _active_queues(session: Session) -> tuple[list[Queue], Queue | None]:
    """The active queues in routing order, and the default one if there is one."""
    queues = list(session.execute(_ACTIVE_QUEUES).scalars())
    return queues, next((q for q in queues if q.is_default), None)


def _queues(session: Session, actor: Actor) -> tuple[list[Queue], Queue]:
    """The active queues in routing order, and the default one (made if there is none: never
    leave a report without a queue)."""
    queues, default = _active_queues(session)
    return queues, default if default is not None else fallback_queue(session, actor)


def default_queue(session: Session, actor: Actor) -> Queue:
    """Where a case goes when nothing routes it: the default queue (made if there is none)."""
    return _queues(session, actor)[1]


def _route(queues: list[Queue], default: Queue, context: dict[str, Any], errors: list[dict[str, str]]) -> tuple[Queue, str]:
    """The first of the active `queues` whose expression matches; the default queue when none
    does, or at once when one fails (the failure is added to `errors`: never silently taken for "no")."""
    routing = [q for q in queues if not q.is_default and q.routing_expression]
    prepared = Prepared(ROUTING_SCHEMA, context, {name for queue in routing for name in _expression(queue).variables})
    for queue in routing:
        try:
            if _expression(queue).matches(prepared):
                return queue, f"queue:{queue.name}"
        except ExpressionError as exc:
            errors.append(expression_error("queue", queue.name, str(exc)))
            return default, f"fallback:{queue.name} failed"
    return default, "default"


@dataclass
class _Routed:
    """Where an event's evaluation sends its case, and what else the live rules call for."""

    evaluated: Evaluated
    queue: Queue
    routed_by: str

    @property
    def effects(self) -> Effects:
        return self.evaluated.outcome.effects


@dataclass(frozen=True)
class _Setting:
    """What evaluating a batch of events needs besides their inputs."""

    rules: RuleSet
    queues: list[Queue]  # the active ones, in routing order
    default: Queue
    withheld: set[int]  # subjects whose person restricted processing or objected to it

    @property
    def signature(self) -> tuple[Any, ...]:
        """What an evaluation made in this setting depends on, besides its event."""
        return self.rules, tuple((q.id, q.name, q.routing_expression, q.is_default) for q in self.queues), self.default.id


def _setting(session: Session, subject_ids: Collection[int], queues: tuple[list[Queue], Queue]) -> _Setting:
    return _Setting(rule_set(active_rules(session)), *queues, withheld_from_automation(session, subject_ids))


def _judge(session: Session, setting: _Setting, app_ids: dict[int, int], events: list[Event], now: datetime,
           signals: dict[int, list[LatestSignal]] | None, has_case: Collection[int] | None) -> dict[int, _Routed]:
    """Evaluate the rules and queue expressions on each event; subject id → where its case
    goes. A live rule's route names the queue; failing that, the queues' expressions decide,
    for the subjects in `has_case` (None: all; a subject without a case has nothing for them
    to move). No rule runs on the content of a person who restricted processing or objected to
    it: only the queues' expressions route it."""
    if not events:
        return {}
    no_rules = rule_set(())
    routed: dict[int, _Routed] = {}
    for event, seen in zip(events, build_inputs(session, events, now, signals=signals)):
        withheld = event.subject_id in setting.withheld
        outcome = (no_rules if withheld else setting.rules).evaluate(seen)
        evaluated = Evaluated(app_ids[event.subject_id], event.subject_id, event.type, seen, outcome, event.report_id, withheld=withheld)
        queue, routed_by = _destination(outcome.effects, seen, setting.queues, setting.default, evaluated.errors,
                                        by_queues=has_case is None or event.subject_id in has_case)
        routed[event.subject_id] = _Routed(evaluated, queue, routed_by)
    return routed


def _destination(effects: Effects, seen: dict[str, Any], queues: list[Queue], default: Queue, errors: list[dict[str, str]], *,
                 by_queues: bool = True) -> tuple[Queue, str]:
    """The queue a live rule's route names; failing that, the first whose expression matches what
    was seen (or, not `by_queues`, the default queue). A route to no active queue, or an
    expression that fails, is added to `errors`."""
    route = effects.route
    if route is not None:
        named = next((q for q in queues if q.name == route.queue), None)
        if named is not None:
            return named, f"rule:{effects.route_rule}"
        errors.append(expression_error("rule", effects.route_rule or "", f"no active queue named {route.queue!r}"))
    return _route(queues, default, routing_context(seen), errors) if by_queues else (default, "default")


def _foreseeable(event: Event, setting: _Setting, signals: dict[int, list[LatestSignal]], has_case: Collection[int]) -> tuple[Any, ...]:
    """What an event's evaluation depends on besides the setting and the inputs read as of
    when it was made."""
    policy = (event.policy.code, event.policy.severity, bool(event.policy.graphic)) if event.policy is not None else None
    found = sorted((s.analyser, s.label, s.score, s.match) for s in signals.get(event.subject_id, []))
    return (event.type, event.source, event.text, event.imminent_harm, policy, event.report_id,
            event.subject_id in has_case, event.subject_id in setting.withheld, found)


class _Seen(NamedTuple):
    """An evaluation made from the read, with what it depended on (`_foreseeable`)."""

    depends_on: tuple[Any, ...]
    evaluated: Evaluated
    queue_id: int
    routed_by: str


@dataclass(frozen=True)
class Foreseen:
    """What `reconsider` would make of subjects' new signals, evaluated from a read before
    they are stored: the worker evaluates there, and its write transaction takes each
    evaluation whose event, case, restriction, latest signals, rules and queues are still what
    it saw (the rest of its inputs, such as the account's history, are as of when it was made,
    and kept with it), and evaluates the others again. On SQLite one process writes at a time,
    and evaluating was most of the worker's write turn."""

    signature: tuple[Any, ...] = ()
    routed: dict[int, _Seen] = field(default_factory=dict)  # by subject id

    def taken(self, setting: _Setting, events: list[Event], signals: dict[int, list[LatestSignal]],
              has_case: Collection[int]) -> dict[int, _Routed]:
        """The evaluations that still hold, by subject id."""
        if not self.routed or self.signature != setting.signature:
            return {}
        queues = {q.id: q for q in (*setting.queues, setting.default)}
        taken = {}
        for event in events:
            seen = self.routed.get(event.subject_id)
            if seen is not None and seen.depends_on == _foreseeable(event, setting, signals, has_case):
                taken[event.subject_id] = _Routed(seen.evaluated, queues[seen.queue_id], seen.routed_by)
        return taken


def foresee(session: Session, signals: dict[int, list[LatestSignal]]) -> Foreseen:
    """Evaluate, from a read, what `reconsider` will on these subjects once new signals are
    stored; `signals` are each subject's latest signals as they will then be."""
    queues, default = _active_queues(session)
    if default is None or not signals:  # a read cannot make the fallback queue
        return Foreseen()
    cases, _reports, app_ids, events = _signal_events(session, sorted(signals), lock=False)
    setting = _setting(session, app_ids, (queues, default))
    judged = _judge(session, setting, app_ids, events, utcnow(), signals, cases)
    for to in judged.values():
        to.evaluated.encoded_inputs()  # here, before the write transaction
    return Foreseen(setting.signature, {
        event.subject_id: _Seen(_foreseeable(event, setting, signals, cases), to.evaluated, to.queue.id, to.routed_by)
        for event in events for to in (judged[event.subject_id],)
    })


def _evaluate(session: Session, app_ids: dict[int, int], events: list[Event], now: datetime,
              signals: dict[int, list[LatestSignal]] | None = None, has_case: Collection[int] | None = None,
              foreseen: Foreseen | None = None) -> dict[int, _Routed]:
    """Evaluate the events (as `_judge` does, taking what `foreseen` still holds) and store the
    evaluations; subject id → where its case goes."""
    if not events:
        return {}
    setting = _setting(session, app_ids, _queues(session, Actor("system", "routing")))
    taken = foreseen.taken(setting, events, signals, has_case) if foreseen and signals is not None and has_case is not None else {}
    judged = _judge(session, setting, app_ids, [e for e in events if e.subject_id not in taken], now, signals, has_case)
    routed = {e.subject_id: taken.get(e.subject_id) or judged[e.subject_id] for e in events}
    evaluations.store(session, [r.evaluated for r in routed.values()], now)
    return routed


def _with_rules(priority: Priority, effects: Effects, reasons: dict[str, float]) -> Priority:
    """The priority with what live rules ask for, keeping an earlier rules component."""
    points = max(float(effects.priority), reasons.get("rules", 0.0))
    if not points and effects.band is None:
        return priority
    return with_rules(priority.score, priority.band, priority.reasons, points, effects.band)


def _act(session: Session, routed: Iterable[_Routed]) -> None:
    for r in routed:
        if r.effects.action is not None:
            evaluations.act(session, r.evaluated)


def _standing(report: Any, records: dict[str, NotifierStanding]) -> NotifierStanding:
    if report.reporter_type == ReporterType.TRUSTED_FLAGGER:
        return NotifierStanding(trusted_flagger=True)
    key = notifiers.notifier_key(report)
    return records.get(key, NotifierStanding()) if key else NotifierStanding()  # anonymous: neutral


def _signal_points(signals: list[LatestSignal]) -> float:
    return signal_points((s.score, s.match) for s in signals)


def _priority(reports: list[Any], subject: Any, policies: dict[str, Any], records: dict[str, NotifierStanding],
              signals: list[LatestSignal], case: Case | None = None) -> Priority:
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


def route_reports(session: Session, actor: Actor, app_id: int, report_ids: list[int], *, now: datetime | None = None,
                  filed_by: Mapping[int, Evaluated] | None = None) -> None:
    """Put newly filed reports into cases (new or existing); suspended notifiers' are held back.

    `now` is when the reports arrived: a new case opens then and its SLA counts from then.
    `filed_by` is, for automated reports, the stored evaluation that filed each, by subject id:
    it routes the report's case (its live route, or the queues' expressions on what it saw,
    and its priority, band and labels), rather than the rules evaluated again on the same
    content, which would record its hits a second time.
    A subject's open report case is unique in the database: reports whose subject has one join
    it (locked, in id order); for the others a case is inserted with ON CONFLICT DO NOTHING, and
    where another transaction opened one first, the reports join that one instead.
    """
    if not report_ids:
        return
    session.flush()  # its statements run past the ORM
    connection = session.connection()
    new_reports = connection.execute(_NEW_REPORTS, {"ids": report_ids}).all()
    subjects = {s.id: s for s in connection.execute(_SUBJECTS_OF, {"ids": list({r.subject_id for r in new_reports})})}
    policies = _current_policies(session)
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
    filed_by = {subject_id: e for subject_id, e in (filed_by or {}).items() if subject_id in groups}
    routed = routing.evaluate({s: g for s, g in groups.items() if s not in filed_by}) | _as_filed(session, actor, filed_by)
    links: list[dict[str, int]] = []
    waiting = dict(groups)
    while waiting:  # a second round only for subjects whose case another transaction opened meanwhile
        for case in _open_report_cases(session, waiting):
            group = waiting.pop(case.subject_id)
            routing.join(case, group, subjects[case.subject_id], routed[case.subject_id])
            links.extend({"report_id": r.id, "case": case.id} for r in group)
        opened = routing.open_cases({subject_id: (subjects[subject_id], group) for subject_id, group in waiting.items()}, routed)
        for subject_id, case_id in opened.items():
            links.extend({"report_id": r.id, "case": case_id} for r in waiting.pop(subject_id))
    connection.execute(_FILE_IN_CASE, links)
    _act(session, [to for subject_id, to in routed.items() if subject_id not in filed_by])  # a filing evaluation acts where it is made


# Built once and run on the connection, past the ORM step: routing runs for every report, and
# for every synchronous check that asks for review.
_NEW_REPORTS = select(*_REPORT_COLUMNS).where(InIds(Report.id))
_SUBJECTS_OF = select(Subject.id, Subject.kind, Subject.language, Subject.country, Subject.reach).where(InIds(Subject.id))
_CURRENT_POLICIES = select(Policy.code, Policy.severity, Policy.graphic).where(Policy.is_current.is_(True))
_FILE_IN_CASE = update(Report.__table__).where(Report.__table__.c.id == bindparam("report_id")).values(case_id=bindparam("case"))
_LINK_SUBJECTS = insert(CaseSubject.__table__)


def _as_filed(session: Session, actor: Actor, filed_by: Mapping[int, Evaluated]) -> dict[int, _Routed]:
    """Where each filing evaluation sends its automated report's case; an expression that fails
    on the way is added to that evaluation's errors."""
    if not filed_by:
        return {}
    queues, default = _queues(session, actor)
    routed = {}
    for subject_id, evaluated in filed_by.items():
        errors: list[dict[str, str]] = []
        routed[subject_id] = _Routed(evaluated, *_destination(evaluated.outcome.effects, evaluated.inputs, queues, default, errors))
        evaluations.add_errors(session, evaluated, errors)
    return routed


def _current_policies(session: Session) -> dict[str, Any]:
    """The current policies by code, as rows: what routing, priority and the rules read of them."""
    return {p.code: p for p in session.connection().execute(_CURRENT_POLICIES)}


@functools.cache
def _open_cases(dialect: str) -> Any:
    """Insert report cases, skipping subjects that have an open one (the unique open-report-case index)."""
    table = Case.__table__
    return (conflict_insert(dialect, table).on_conflict_do_nothing(index_elements=["subject_id"], index_where=OPEN_REPORT_CASE)
            .returning(table.c.subject_id, table.c.id))


def _open_report_cases(session: Session, subject_ids: Iterable[int]) -> list[Case]:
    """The subjects' open report cases, locked in id order (so that two transactions routing
    reports on the same subjects take the locks in the same order)."""
    return list(session.execute(_OPEN_REPORT_CASES[True], {"ids": list(subject_ids)}).scalars())


_UNLOCKED = select(Case).where(InIds(Case.subject_id), Case.status == "open", Case.kind == CaseKind.REPORT.value).order_by(Case.id)
_OPEN_REPORT_CASES = {False: _UNLOCKED, True: _UNLOCKED.with_for_update()}  # by whether they are locked


class _Routing:
    """What routing one transaction's reports needs: the queues, policies and notifier records."""

    def __init__(self, session: Session, actor: Actor, app_id: int, policies: dict[str, Any],
                 records: dict[str, NotifierStanding], now: datetime, signals: dict[int, list[LatestSignal]]) -> None:
        self.session, self.actor, self.app_id, self.policies, self.records, self.now = session, actor, app_id, policies, records, now
        self.signals = signals

    def lead(self, group: list[Any]) -> Any:
        return max(group, key=lambda r: (r.imminent_harm, self.policies[r.policy_code].severity))

    def evaluate(self, groups: dict[int, list[Any]]) -> dict[int, _Routed]:
        """Each subject's event, its lead report, evaluated and stored."""
        events = []
        for subject_id in sorted(groups):
            lead = self.lead(groups[subject_id])
            events.append(Event(subject_id, "report", lead.reporter_type, lead.text or "", bool(lead.imminent_harm),
                                self.policies[lead.policy_code], lead.id))
        return _evaluate(self.session, dict.fromkeys(groups, self.app_id), events, self.now, self.signals)

    def open_cases(self, waiting: dict[int, tuple[Any, list[Any]]], routed: dict[int, _Routed]) -> dict[int, int]:
        """Open a report case for each subject, unless another transaction opened one first
        (the unique open-report-case index); subject id → new case id for the ones opened."""
        if not waiting:
            return {}
        rows = []
        confined = confining_queues(self.session, {subject_id: routed[subject_id].queue for subject_id in waiting})
        for subject_id in sorted(waiting):  # inserted in subject order: index entries taken in one order
            subject, group = waiting[subject_id]
            lead, to = self.lead(group), routed[subject_id]
            queue, routed_by = to.queue, to.routed_by
            if subject_id in confined:  # the subject is hidden from some who may work `queue`
                queue, routed_by = confined[subject_id], f"need_to_know:{confined[subject_id].name}"
            priority = _with_rules(_priority(group, subject, self.policies, self.records, self.signals.get(subject_id, [])), to.effects, {})
            rows.append({
                "app_id": self.app_id, "subject_id": subject_id, "kind": CaseKind.REPORT.value, "queue_id": queue.id,
                "status": "open", "band": priority.band.value, "priority_score": priority.score,
                "priority_reasons": priority.reasons, "imminent_harm": "imminent_harm" in priority.reasons,
                "report_count": len(group), "policy_code": lead.policy_code, "routed_by": routed_by,
                "due_at": due_at(self.now, queue, priority.band), "created_at": self.now, "updated_at": self.now,
                "labels": list(to.effects.labels),
            })
        connection = self.session.connection()
        opened = dict(connection.execute(_open_cases(dialect_name(self.session)), rows).all())
        counters.inserted(self.session, Case, [row for row in rows if row["subject_id"] in opened])
        if opened:
            connection.execute(_LINK_SUBJECTS, [{"case_id": c, "subject_id": s} for s, c in sorted(opened.items())])
        for row in rows:
            if row["subject_id"] in opened:
                record(self.session, actor=self.actor, verb="case.opened", object_type="case", object_id=opened[row["subject_id"]], after={
                    "subject_id": row["subject_id"], "queue_id": row["queue_id"], "routed_by": row["routed_by"],
                    "band": row["band"], "priority_score": row["priority_score"], "reasons": row["priority_reasons"],
                    "due_at": row["due_at"], "reports": [r.id for r in waiting[row["subject_id"]][1]],
                    "evaluation_id": routed[row["subject_id"]].evaluated.id, "labels": row["labels"],
                })
        return opened

    def join(self, case: Case, group: list[Any], subject: Any, routed: _Routed) -> None:
        """Add reports to an open case (locked by the caller) and re-score it from all of them.

        The case moves only where a live rule routes it, where routing sends a first report of
        imminent harm, or where the reports' queue comes first in routing order and is closed to
        some who may see the case's (a child-safety report joining a general case takes it out
        of the general reviewers' sight; one joining an imminent-harm case, whose queue comes
        first, leaves it there); a case at a tier stays in its tier's queue and keeps its
        escalation's points.
        """
        session, lead = self.session, self.lead(group)
        before = {"band": case.band, "priority_score": case.priority_score, "report_count": case.report_count,
                  "queue_id": case.queue_id, "due_at": case.due_at, "labels": case.labels}
        signals = self.signals.get(case.subject_id, [])
        priority = carry_escalation(_priority(group, subject, self.policies, self.records, signals, case), case.priority_reasons)
        priority = _with_rules(priority, routed.effects, case.priority_reasons)
        imminent = priority.band == Band.P0 and not case.imminent_harm and lead.imminent_harm
        queue = session.get_one(Queue, case.queue_id)
        confines = routed.queue.position < queue.position and narrower(routed.queue, queue)
        moves = routed.effects.route is not None or imminent or confines
        if case.tier is None and routed.queue.id != case.queue_id and moves:
            _leave_hands(case)
            case.queue_id, case.routed_by, queue = routed.queue.id, routed.routed_by, routed.queue
        case.band, case.priority_score, case.priority_reasons = min(priority.band, Band(case.band)).value, priority.score, priority.reasons
        case.imminent_harm = "imminent_harm" in priority.reasons
        case.report_count += len(group)
        case.labels = _labelled(case.labels, routed.effects.labels)
        case.due_at = min(as_utc(case.due_at), due_at(case.created_at, queue, Band(case.band)))
        case.updated_at = self.now
        record(session, actor=self.actor, verb="case.reports_added", object_type="case", object_id=case.id, before=before, after={
            "band": case.band, "priority_score": case.priority_score, "report_count": case.report_count,
            "queue_id": case.queue_id, "due_at": case.due_at, "reports": [r.id for r in group],
            "evaluation_id": routed.evaluated.id, "labels": case.labels,
        })


def _labelled(labels: list[Any], added: Iterable[str]) -> list[str]:
    return sorted({*labels, *added})


def _leave_hands(case: Case) -> None:
    """A case that moves queue leaves its reviewer's hands: the new queue may need roles or
    languages they lack."""
    case.claimed_by = case.lease_until = case.assigned_to = None


_APP_IDS = select(Subject.id, Subject.app_id).where(InIds(Subject.id))


def _signal_events(session: Session, wanted: list[int], *, lock: bool) -> tuple[dict[int, Case], dict[int, list[Any]], dict[int, int], list[Event]]:
    """The subjects' open report cases (locked, or only read), those cases' reports, the
    subjects' app ids, and each subject's event for the rules: its new signals, with its case's
    lead report where it has one."""
    cases = {c.subject_id: c for c in session.execute(_OPEN_REPORT_CASES[lock], {"ids": wanted}).scalars()}
    policies = _current_policies(session)
    reports: dict[int, list[Any]] = defaultdict(list)
    for r in session.execute(select(*_REPORT_COLUMNS, Report.case_id).where(Report.case_id.in_([c.id for c in cases.values()]))):
        reports[r.case_id].append(r)
    app_ids = dict(session.execute(_APP_IDS, {"ids": wanted}).all())
    events = []
    for subject_id in sorted(app_ids):
        case = cases.get(subject_id)
        lead = max(reports[case.id], key=lambda r: (r.imminent_harm, policies[r.policy_code].severity if r.policy_code in policies else 0)) \
            if case is not None and reports[case.id] else None
        if lead is None or lead.policy_code not in policies:  # no report, or a retired policy: the event alone
            events.append(Event(subject_id, "signals"))
            continue
        # A reviewer's imminent-harm flag routed the case as imminent harm: it still is.
        events.append(Event(subject_id, "signals", lead.reporter_type, lead.text or "", bool(lead.imminent_harm or case.imminent_harm),
                            policies[lead.policy_code], None))
    return cases, reports, app_ids, events


def reconsider(session: Session, actor: Actor, subject_ids: Iterable[int], foreseen: Foreseen | None = None) -> None:
    """Evaluate the rules again for subjects that got new signals, and move their open cases.

    Every subject is an event for the rules (a live rule may act on content nobody reported,
    and one that routes content without an open case opens one for it).
    An open report case gets the new signals component of its priority (the band only moves
    up) and what live rules ask for; a case not at a tier is routed again as its lead report
    was, now with the signals, and moves if a rule or another queue takes it, leaving its
    reviewer's hands.
    """
    wanted = sorted(set(subject_ids))
    if not wanted:
        return
    cases, reports, app_ids, events = _signal_events(session, wanted, lock=True)
    signals = latest_signals(session, wanted)
    routed = _evaluate(session, app_ids, events, utcnow(), signals, cases, foreseen)
    now = utcnow()
    _open_for_review(session, actor, app_ids, {s: to for s, to in routed.items() if s not in cases})
    for subject_id, case in cases.items():
        to = routed.get(subject_id)
        if to is None:
            continue
        found = signals.get(subject_id, [])
        queue = _rescore(session, actor, case, _signal_points(found), to.effects, now)
        # Queue routing moves a case routed from its reports, and never to the fallback for a failed expression.
        rerouted = bool(reports[case.id]) and to.evaluated.inputs["policy"]["code"] != "" and not to.routed_by.startswith("fallback:")
        moves = to.effects.route is not None or rerouted
        if case.tier is not None or not moves or to.queue.id == queue.id:
            continue
        before = {"queue_id": case.queue_id, "routed_by": case.routed_by, "due_at": case.due_at,
                  "claimed_by": case.claimed_by, "assigned_to": case.assigned_to}
        _leave_hands(case)
        case.queue_id, case.routed_by = to.queue.id, to.routed_by
        case.due_at = min(as_utc(case.due_at), due_at(case.created_at, to.queue, Band(case.band)))
        case.updated_at = now
        record(session, actor=actor, verb="case.rerouted", object_type="case", object_id=case.id, before=before, after={
            "queue_id": case.queue_id, "routed_by": to.routed_by, "due_at": case.due_at, "claimed_by": None,
            "assigned_to": None, "signals": [s.id for s in found], "evaluation_id": to.evaluated.id,
        })
    _act(session, routed.values())


def _open_for_review(session: Session, actor: Actor, app_ids: dict[int, int], routed: dict[int, _Routed]) -> None:
    """Subjects without an open case that a live rule routes (and none acts on) get one, as a
    synchronous check's `review` does: automated reports, one batch per app, that routing
    takes from there."""
    # Imported here: intake → routing.
    from trustdesk.ingest.intake import AutomatedReport, file_automated_reports

    by_app: dict[int, list[AutomatedReport]] = defaultdict(list)
    for subject_id, to in sorted(routed.items()):
        if to.effects.route is not None and to.effects.action is None and to.evaluated.id is not None:
            by_app[app_ids[subject_id]].append(AutomatedReport(subject_id, to.evaluated, None, review_text(to.evaluated)))
    for app_id, wanted in sorted(by_app.items()):
        file_automated_reports(session, actor, app_id, wanted)


def review_text(evaluated: Evaluated) -> str:
    """What an automated report says: the live rules that asked for review."""
    names = ", ".join(f"{rule.name} (version {rule.version})" for rule in evaluated.outcome.live)
    return f"Automated: rule{'s' if len(evaluated.outcome.live) > 1 else ''} {names} matched."


def _rescore(session: Session, actor: Actor, case: Case, points: float, effects: Effects, now: datetime) -> Queue:
    """Give the case its new signals component and what live rules ask for (audited when the
    score, band or labels change); its queue."""
    queue = session.get_one(Queue, case.queue_id)
    priority = _with_rules(with_signals(case.priority_score, Band(case.band), case.priority_reasons, points), effects,
                           case.priority_reasons)
    labels = _labelled(case.labels, effects.labels)
    if (priority.score, priority.band.value, labels) == (case.priority_score, case.band, sorted(case.labels)):
        return queue
    before = {"band": case.band, "priority_score": case.priority_score, "reasons": case.priority_reasons, "due_at": case.due_at,
              "labels": case.labels}
    case.band, case.priority_score, case.priority_reasons = priority.band.value, priority.score, priority.reasons
    case.labels = labels
    case.due_at = min(as_utc(case.due_at), due_at(case.created_at, queue, priority.band))
    case.updated_at = now
    record(session, actor=actor, verb="case.rescored", object_type="case", object_id=case.id, before=before, after={
        "band": case.band, "priority_score": case.priority_score, "reasons": case.priority_reasons, "due_at": case.due_at,
        "labels": case.labels,
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
    if case.kind in LEGAL_KINDS:  # its deadline is the law's; harm seen in it is escalated, not routed
        raise Conflict("case_id", f"case {case_id} is a {case.kind.replace('_', ' ')}: escalate it to the imminent-harm tier instead")
    if not reason.strip():
        raise FieldError("reason", "say what the imminent harm is")
    before = {"band": case.band, "priority_score": case.priority_score, "queue_id": case.queue_id, "due_at": case.due_at,
              "claimed_by": case.claimed_by, "assigned_to": case.assigned_to}
    queues, default = _queues(session, actor)
    policy = session.execute(select(Policy).where(Policy.code == case.policy_code, Policy.is_current.is_(True))).scalar_one()
    flagged = Event(case.subject_id, "flag", ReporterType.SUPPORT.value, reason, True, policy)
    errors: list[dict[str, str]] = []
    queue, routed_by = _route(queues, default, routing_context(build_inputs(session, [flagged], utcnow())[0]), errors)
    count_errors(errors)  # audited below
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
                  "claimed_by": case.claimed_by, "assigned_to": case.assigned_to, "reason": reason, "errors": errors})
    return case
