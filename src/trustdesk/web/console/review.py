"""Console pages where reviewers spend their day: the queues, one queue's cases, and the case page.

Thin: claiming, reading the case file, deciding, flagging and commenting are service calls;
this module reads forms, picks the page and shows service errors as messages on it. The guided
decision walks the policy's decision tree one htmx fragment at a time; the answers so far
travel in hidden inputs, so the server keeps no state between steps. Need-to-know is the
services' rule (`trustdesk.cases.access`): a case the reviewer may not see is a 404 here too.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.canned_rationales import rationales_for
from trustdesk.cases import access, claiming, listing, routing, sla, wellness
from trustdesk.cases.case_file import CaseFile, add_comment, load_case_file
from trustdesk.cases.listing import Age, QueueFilter, QueueSort
from trustdesk.cases.queues import (
    MAX_EXPOSURE_PER_HOUR,
    MAX_POSITION,
    MAX_SLA_MINUTES,
    ROUTING_SCHEMA,
    QueueError,
    TIER_NAMES,
    QueueSpec,
    list_queues,
    save_queue,
)
from trustdesk.domain.action_types import REGISTRY, action_type
from trustdesk.domain.client_input import INT64_MAX, Count, RowId, whole_number
from trustdesk.domain.decision_trees import (
    NO_VIOLATION,
    Outcome,
    TreeError,
    default_tree,
    walk,
)
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.priority import EXPLANATIONS, Band
from trustdesk.domain.roles import ADMINS, ASSIGNERS, CASE_STAFF, CASE_TAKERS, ENFORCERS, REVIEWERS, TIER_STAFF
from trustdesk.domain.vocabulary import CaseKind, CommentVisibility, EscalationStatus, ReporterType, Role, Urgency
from trustdesk.enforcement import statements
from trustdesk.enforcement.appeals import appeal_file, decide_appeal
from trustdesk.enforcement.decisions import MAX_TIME_SPENT_MS, DecisionRequest, decide_case
from trustdesk.enforcement.outcomes import case_outcomes
from trustdesk.notices.notice import notices_of_case
from trustdesk.policy_versions import current_policies, spec_of
from trustdesk.hash_banks.banks import list_banks
from trustdesk.replies.case_replies import replies_on
from trustdesk.law_enforcement import requests as authorities
from trustdesk.privacy import requests as privacy_requests
from trustdesk.store.models import MAX_BIGINT, Case, Queue, StaffUser, as_utc, utcnow
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.ncmec import case_panel as ncmec_panel
from trustdesk.web.console.replies import reply_panel
from trustdesk.web.console.views import render
from trustdesk.web.permissions import (
    COMMITTED,
    StaffContext,
    claim_terms,
    read_session,
    staff_with,
)

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
QUEUE_PAGE = 50
REPORTS_SHOWN = 50
CHILDREN_SHOWN = 20
STATEMENTS_SHOWN = 20  # a cascade has one per item: the action pages have each of them
# The case page renews the lease this often while it sees the reviewer active (a key, the mouse,
# the page shown again) within the last ACTIVE_WITHIN_SECONDS; an idle page lets the lease run out.
RENEW_EVERY_SECONDS = 60
ACTIVE_WITHIN_SECONDS = 240
Choice = TypeVar("Choice", bound=StrEnum)
SORTS = {
    QueueSort.PRIORITY: "priority (the order cases are served)", QueueSort.DUE: "due soonest",
    QueueSort.OLDEST: "oldest first", QueueSort.NEWEST: "newest first", QueueSort.REPORTS: "most reports",
}
AGES = {Age.UNDER_1H: "under 1 h", Age.FROM_1H_TO_4H: "1–4 h", Age.FROM_4H_TO_1D: "4 h – 1 day", Age.OVER_1D: "over a day"}

# Fixed messages named in redirects (`?notice=...`), so a URL cannot put words on the page.
NOTICES = {
    "nothing": "Nothing to review right now. Take a breather; new cases will show up here.",
    "paused": "This queue is paused for you: you reached this hour's exposure limit. Take a break; other queues still come through.",
    "decided": "Decision recorded. Here is your next case.",
    "decided-last": "Decision recorded. Nothing else is waiting for you right now.",
    "appeal-filed": "Appeal filed. It waits in its queue for a reviewer who did not make the decision.",
    "flagged": "Flagged as imminent harm: the case is now top priority on the shortest SLA.",
    "flagged-handed-over": "Flagged as imminent harm and handed to a queue for other roles: its team takes it from here.",
    "saved": "Queue saved.",
    "assigned": "Assignment saved.",
    "stepped-out": "You stepped out of that queue. No penalty; step back in whenever you are ready.",
    "stepped-in": "Welcome back: that queue is in your rotation again.",
    "escalated": "Escalated: the case is in its tier's queue now.",
    "reversed": "Decision reversed: what it still had in force is withdrawn, and the host platform is told.",
    "escalated-handed-over": "Escalated and handed to the tier's team: the case has left your queues.",
    "de-escalated": "De-escalated: the case is back in the queue it came from.",
    "reply-copied": "Reply recorded as copied: paste it into the channel. It is listed under Replies.",
    "reply-sent": "Reply sent: it is on its way and listed under Replies.",
    "added-to-bank": "Added to the hash bank: copies of this media are matched from now on.",
}

# What each part of a priority score means (see trustdesk.domain.priority).


@dataclass(frozen=True)
class Due:
    """An open case's SLA as reviewers read it, and the due time the page counts down to."""

    label: str
    breached: bool
    at_ms: int


def due(case: Case) -> Due | None:
    """'2 h 5 min left' or 'breached 12 min ago': reviewers act on time left, not timestamps.

    None once the case is closed: its clock has stopped. review.js keeps the label live with the
    same wording.
    """
    if case.status != "open":
        return None
    minutes = sla.minutes_left(case)
    span = _span(abs(minutes))
    label = f"breached {span} ago" if minutes < 0 else f"{span} left"
    return Due(label, minutes < 0, _ms(case.due_at))


def age(case: Case) -> str:
    """How long ago the case was opened, in the same words as the SLA."""
    return f"{_span((utcnow() - as_utc(case.created_at)).total_seconds() / 60)} ago"


def _ms(at: datetime) -> int:
    return int(as_utc(at).timestamp() * 1000)


def _span(minutes: float) -> str:
    whole = int(minutes)
    if whole < 1:
        return "<1 min"
    if whole < 60:
        return f"{whole} min"
    if whole < 1440:
        return f"{whole // 60} h {whole % 60} min"
    return f"{whole // 1440} d {whole % 1440 // 60} h"


def _notice(key: str | None) -> str | None:
    return NOTICES.get(key or "")


def _claimed(case: Case) -> bool:
    return case.lease_until is not None and as_utc(case.lease_until) > utcnow()


def _to_claim(claim: claiming.Claim, *, after_decision: bool, queue_id: int | None = None) -> RedirectResponse:
    """Straight to the claimed case (still working `queue_id`, if one), or back with a calm word."""
    if claim.case is not None:
        query = ({"notice": "decided"} if after_decision else {}) | ({"queue": queue_id} if queue_id else {})
        return RedirectResponse(f"/cases/{claim.case.id}{'?' + urlencode(query) if query else ''}", status_code=303)
    notice = "decided-last" if after_decision else "paused" if claim.paused_queues and queue_id else "nothing"
    return RedirectResponse(f"{f'/queues/{queue_id}' if queue_id else '/queues'}?notice={notice}", status_code=303)


# --- queues -------------------------------------------------------------------------------


def _queues_page(request: Request, who: StaffContext, session: Session, *, notice: str | None = None) -> HTMLResponse:
    workable: set[int] = set()
    paused: list[str] = []
    stepped_out: set[int] = set()
    exposure = 0
    if who.has(*CASE_TAKERS):
        allowed, paused = claiming.workable_queues(session, who.reviewer)
        workable = {q.id for q in allowed}
        stepped_out = wellness.stepped_out(session, who.user_id)
        exposure = wellness.exposure_this_hour(session, who.user_id)
    context = {
        "who": who, "overview": listing.queue_overview(session), "bands": [b.value for b in Band],
        "workable": workable, "paused": paused, "stepped_out": stepped_out, "exposure": exposure,
        "hidden": access.hidden_queue_ids(session, who.reviewer),
        "reviewer": who.has(*CASE_TAKERS), "admin": who.has(*ADMINS), "notice": _notice(notice),
    }
    return render(request, "queues.html", context)


@router.get("/queues")
def queues(
    request: Request, notice: str | None = None,
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    return _queues_page(request, who, session, notice=notice)


@router.post("/queues/{queue_id}/step-out")
def step_out(queue_id: RowId, who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED) -> Response:
    """Leave a graphic queue for now, without penalty."""
    wellness.step_out(session, who.reviewer, queue_id)
    return RedirectResponse("/queues?notice=stepped-out", status_code=303)


@router.post("/queues/{queue_id}/step-in")
def step_in(queue_id: RowId, who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED) -> Response:
    wellness.step_back_in(session, who.user_id, queue_id)
    return RedirectResponse("/queues?notice=stepped-in", status_code=303)


# --- queue configuration (admins) ---------------------------------------------------------

_INT_FIELDS = ("position", "exposure_limit_per_hour", "escalate_minutes_before_breach") + tuple(f"sla_{b.value}" for b in Band)
_FLAGS = ("is_default", "graphic", "active")


def _form_values(spec: QueueSpec) -> dict[str, Any]:
    """A queue as the form shows it: text for every box, lists for the multiple choices."""
    values: dict[str, Any] = {
        "name": spec.name, "routing_expression": spec.routing_expression or "", "position": str(spec.position),
        "required_roles": list(spec.required_roles), "required_languages": ", ".join(spec.required_languages),
        "exposure_limit_per_hour": "" if spec.exposure_limit_per_hour is None else str(spec.exposure_limit_per_hour),
        "escalate_minutes_before_breach": "" if spec.escalate_minutes_before_breach is None else str(spec.escalate_minutes_before_breach),
        "escalation_queue": spec.escalation_queue or "",
    }
    values |= {f"sla_{band}": str(minutes) for band, minutes in spec.sla_minutes.items()}
    return values | {flag: getattr(spec, flag) for flag in _FLAGS}


def _posted_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in ("name", "routing_expression", "required_languages", "escalation_queue", *_INT_FIELDS)}
    return values | {"required_roles": [str(r) for r in form.getlist("required_roles")]} | {flag: form.get(flag) == "on" for flag in _FLAGS}


def _spec(values: dict[str, Any]) -> QueueSpec:
    """The QueueSpec the form describes; QueueError names a box that is not a whole number."""
    numbers: dict[str, int | None] = {}
    for name in _INT_FIELDS:
        text = values[name]
        numbers[name] = whole_number(text) if text else None
        if text and numbers[name] is None:
            raise QueueError(name, f"must be a whole number, not {text[:40]!r}")
    return QueueSpec(
        name=values["name"], routing_expression=values["routing_expression"] or None,
        position=numbers["position"] if numbers["position"] is not None else 100, is_default=values["is_default"],
        sla_minutes={b.value: numbers[f"sla_{b.value}"] for b in Band},  # type: ignore[misc]
        required_roles=values["required_roles"],
        required_languages=[lang for lang in values["required_languages"].replace(",", " ").split() if lang],
        graphic=values["graphic"], exposure_limit_per_hour=numbers["exposure_limit_per_hour"],
        escalate_minutes_before_breach=numbers["escalate_minutes_before_breach"],
        escalation_queue=values["escalation_queue"] or None, active=values["active"],
    )


def _spec_of(queue: Queue, names: dict[int, str]) -> QueueSpec:
    return QueueSpec(
        name=queue.name, routing_expression=queue.routing_expression, position=queue.position, is_default=queue.is_default,
        sla_minutes=dict(queue.sla_minutes), required_roles=list(queue.required_roles),
        required_languages=list(queue.required_languages), graphic=queue.graphic,
        exposure_limit_per_hour=queue.exposure_limit_per_hour, escalate_minutes_before_breach=queue.escalate_minutes_before_breach,
        escalation_queue=names.get(queue.escalation_queue_id or 0), active=queue.active,
    )


def _queue_form(
    request: Request, who: StaffContext, session: Session, queue_id: int | None, values: dict[str, Any],
    error: str | None = None, status: int = 200,
) -> HTMLResponse:
    others = [q.name for q in list_queues(session) if q.id != queue_id]
    context = {
        "who": who, "queue_id": queue_id, "values": values, "error": error, "roles": [r.value for r in Role],
        "bands": [b.value for b in Band], "others": others, "variables": ROUTING_SCHEMA.described(),
        "max_sla": MAX_SLA_MINUTES, "max_position": MAX_POSITION, "max_exposure": MAX_EXPOSURE_PER_HOUR,
    }
    return render(request, "queue_form.html", context, status_code=status)


def _save(request: Request, who: StaffContext, session: Session, queue_id: int | None, form: Any) -> Response:
    values = _posted_values(form)
    try:
        saved = save_queue(session, who.actor, _spec(values), queue_id)
    except QueueError as exc:  # the form comes back with the admin's edits; an unknown queue is a 404 page
        return _queue_form(request, who, session, queue_id, values, str(exc), exc.status)
    return RedirectResponse(f"/queues/{saved.id}?notice=saved", status_code=303)


@router.get("/queues/new")
def new_queue(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> HTMLResponse:
    return _queue_form(request, who, session, None, _form_values(QueueSpec("")))


@router.post("/queues/new")
async def create_queue(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    """Create a queue; a routing expression that does not check is refused, nothing saved."""
    return _save(request, who, session, None, await request.form())


@router.get("/queues/{queue_id}/edit")
def edit_queue(
    request: Request, queue_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("queue_id", f"no queue {queue_id}")
    names = {q.id: q.name for q in list_queues(session)}
    return _queue_form(request, who, session, queue_id, _form_values(_spec_of(queue, names)))


@router.post("/queues/{queue_id}/edit")
async def update_queue(
    request: Request, queue_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    return _save(request, who, session, queue_id, await request.form())


# --- one queue's cases ----------------------------------------------------------------------


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids))).all())


def _assignees(session: Session, queue: Queue) -> list[tuple[int, str]]:
    """Active reviewers who may work this queue, for a senior's "assign to" choice."""
    users = session.execute(select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.display_name)).scalars()
    return [(u.id, u.display_name) for u in users if access.may_take_assignments(queue, u)]


def _choice(kind: type[Choice], value: str, field: str) -> Choice | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise FieldError(field, f"one of {', '.join(kind)}") from None


@dataclass(frozen=True)
class QueueView:
    """The queue view's filters, order and page position, as the URL carries them."""

    policy_code: str = ""
    language: str = ""
    band: str = ""
    age: str = ""
    breached: str = ""
    reporter_type: str = ""
    sort: str = QueueSort.PRIORITY.value

    def filters(self) -> QueueFilter:
        """The filter this view asks for; FieldError names a value the form never offers."""
        if self.breached not in ("", "yes", "no"):
            raise FieldError("breached", "yes or no")
        return QueueFilter(
            policy_code=self.policy_code or None, language=self.language or None, band=_choice(Band, self.band, "band"),
            age=_choice(Age, self.age, "age"), breached={"yes": True, "no": False}.get(self.breached),
            reporter_type=_choice(ReporterType, self.reporter_type, "reporter_type"),
        )

    @property
    def narrowed(self) -> bool:
        return any((self.policy_code, self.language, self.band, self.age, self.breached, self.reporter_type))

    def order(self) -> QueueSort:
        return _choice(QueueSort, self.sort, "sort") or QueueSort.PRIORITY

    def link(self, queue_id: int, **position: str) -> str:
        """This view's URL, at a page position (`after=` or `before=` a cursor) or at the start."""
        query = {k: v for k, v in vars(self).items() if v and not (k == "sort" and v == QueueSort.PRIORITY.value)}
        return f"/queues/{queue_id}?{urlencode(query | position)}"


def _queue_page(
    request: Request, who: StaffContext, session: Session, queue_id: int, *, view: QueueView = QueueView(),
    after: str = "", before: str = "", notice: str | None = None, error: str | None = None, status: int = 200,
) -> HTMLResponse:
    queue = access.visible_queue(session, who.reviewer, queue_id)
    try:
        page = listing.queue_cases(session, who.reviewer, queue_id, filters=view.filters(), sort=view.order(),
                                   after=after or None, before=before or None, limit=QUEUE_PAGE)
    except FieldError as exc:  # a filter or page position the page never offers: show the whole queue and say so
        view, error, status = QueueView(), str(exc), exc.status
        page = listing.queue_cases(session, who.reviewer, queue_id, limit=QUEUE_PAGE)
    entries = page.entries
    names = _names(session, {i for e in entries for i in (e.case.claimed_by, e.case.assigned_to) if i})
    context = {
        "who": who, "queue": queue, "entries": entries, "names": names, "view": view,
        "first": view.link(queue_id) if after or before else None,
        "next": view.link(queue_id, after=page.next) if page.next else None,
        "previous": view.link(queue_id, before=page.previous) if page.previous else None,
        "choices": _choices(session, queue_id), "sorts": [(s.value, label) for s, label in SORTS.items()],
        "due": due, "age": age, "ms": _ms, "now_ms": _ms(utcnow()), "claimed": _claimed, "why": EXPLANATIONS,
        "senior": who.has(*ASSIGNERS), "assignees": _assignees(session, queue) if who.has(*ASSIGNERS) else [],
        "reviewer": who.has(*CASE_TAKERS), "take": _may_take(session, who, queue) if who.has(*CASE_TAKERS) else None,
        "notice": _notice(notice), "error": error,
    }
    return render(request, "queue.html", context, status_code=status)


def _choices(session: Session, queue_id: int) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """The queue view's filters: (parameter, label, the choice that filters nothing, [(value, text)])."""
    return [
        ("policy_code", "Policy", "All", [(p.code, p.title) for p in current_policies(session)]),
        ("language", "Language", "All", [(lang, lang) for lang in listing.queue_languages(session, queue_id)]),
        ("band", "Band", "All", [(b.value, b.value) for b in Band]),
        ("age", "Open for", "Any time", [(a.value, label) for a, label in AGES.items()]),
        ("breached", "SLA", "Any", [("yes", "breached"), ("no", "within SLA")]),
        ("reporter_type", "Reported by", "Anyone", [(r.value, r.value.replace("_", " ")) for r in ReporterType]),
    ]


def _may_take(session: Session, who: StaffContext, queue: Queue) -> str:
    """Whether the reviewer can take this queue's next case now: 'yes', or why not in a few words."""
    workable, paused = claiming.workable_queues(session, who.reviewer)
    if queue.id in {q.id for q in workable}:
        return "yes"
    if queue.name in paused:
        return "paused for you: this hour's exposure limit is reached; take a break"
    if not access.may_work(queue, who.reviewer):
        return "not for your roles or languages"
    return "not in your rotation (inactive, or you stepped out of it)"


@router.get("/queues/{queue_id}")
def queue_view(
    request: Request, queue_id: RowId, policy_code: str = "", language: str = "", band: str = "", age: str = "",
    breached: str = "", reporter_type: str = "", sort: str = "", after: str = "", before: str = "", notice: str | None = None,
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    """Open cases, filtered and sorted, a page at a time; each with why it has its priority."""
    view = QueueView(policy_code, language, band, age, breached, reporter_type, sort or QueueSort.PRIORITY.value)
    return _queue_page(request, who, session, queue_id, view=view, after=after, before=before, notice=notice)


@router.post("/cases/{case_id}/assign")
def assign(
    request: Request, case_id: RowId, staff_id: RowId | None = Form(None),
    who: StaffContext = Depends(staff_with(*ASSIGNERS)), session: Session = COMMITTED,
) -> Response:
    """Hand a case to a named reviewer who may work its queue, or back to the queue with no one chosen."""
    try:
        with session.begin_nested():
            case = claiming.assign(session, who.actor, who.reviewer, case_id, staff_id)
    except FieldError as exc:  # a decided case, or an assignee who may not work the queue
        if isinstance(exc, NotFound) and exc.field == "case_id":
            raise
        return _queue_page(request, who, session, session.get_one(Case, case_id).queue_id, error=str(exc), status=exc.status)
    return RedirectResponse(f"/queues/{case.queue_id}?notice=assigned", status_code=303)


# --- taking cases -------------------------------------------------------------------------


@router.post("/cases/next")
def next_case(
    request: Request, queue_id: int | None = Form(None, ge=1, le=MAX_BIGINT),
    who: StaffContext = Depends(staff_with(*CASE_TAKERS)), session: Session = COMMITTED,
    terms: claiming.Terms = Depends(claim_terms),
) -> Response:
    """Lease the most urgent case you may work, from one queue if `queue_id` is sent (skipping the one you held)."""
    try:
        with session.begin_nested():
            claim = claiming.next_case(session, who.reviewer, terms, queue_id=queue_id)
    except FieldError as exc:  # a queue you may not, or no longer, take cases from
        if queue_id is None or isinstance(exc, NotFound):
            raise
        return _queue_page(request, who, session, queue_id, error=str(exc), status=exc.status)
    return _to_claim(claim, after_decision=False, queue_id=queue_id)


# --- the guided decision --------------------------------------------------------------------


@dataclass
class Draft:
    """Where the reviewer is in the decision: the form's state, carried between requests."""

    policy_code: str
    answers: list[int] = field(default_factory=list)
    actions: list[str] | None = None  # None: the outcome's preselection; a list once the form was posted
    days: str = ""
    label: str = ""
    rationale: str = ""


def _answers_to(tree: dict[str, Any], start: str, verdict: str) -> list[int] | None:
    """The fewest answers leading from `start` to an outcome with `verdict` (trees are small and acyclic)."""
    waiting: deque[tuple[str, list[int]]] = deque([(start, [])])
    while waiting:
        name, taken = waiting.popleft()
        for index, answer in enumerate(tree["nodes"][name]["answers"]):
            if "next" in answer:
                waiting.append((answer["next"], taken + [index]))
            elif answer["outcome"].get("verdict") == verdict:
                return taken + [index]
    return None


def _no_violation_route(tree: dict[str, Any], node: str, answers: list[int], outcome: Outcome | None) -> list[int] | None:
    """Answers reaching "no violation" (the `v` key): on from here if the tree allows, else from the start."""
    if outcome is not None and outcome.verdict == NO_VIOLATION:
        return None
    rest = _answers_to(tree, node, NO_VIOLATION) if outcome is None else None
    return answers + rest if rest is not None else _answers_to(tree, tree["start"], NO_VIOLATION)


def _panel(session: Session, case: Case, draft: Draft) -> dict[str, Any]:
    """What the decision panel shows for the draft: the path so far, then a question or the outcome."""
    error = None
    policies = current_policies(session)
    policy = next((p for p in policies if p.code == draft.policy_code), None)
    if policy is None:
        error = f"policy_code: no policy {draft.policy_code!r}"
        policy = next(p for p in policies if p.code == case.policy_code)
        draft = Draft(policy.code)
    spec = spec_of(policy)
    tree = policy.decision_tree or default_tree(spec)
    try:
        path, outcome = walk(tree, spec, draft.answers)
    except TreeError as exc:  # answers from an older version of the tree: start again
        error, draft = str(exc), Draft(policy.code)
        path, outcome = [], None
    # The question to ask now: where the last answer leads (only asked while there is no outcome).
    node = tree["nodes"][path[-1]["node"]]["answers"][draft.answers[-1]]["next"] if path and outcome is None else tree["start"]

    def step_url(answers: list[int]) -> str:
        query = urlencode([("policy_code", policy.code)] + [("answers", a) for a in answers])
        return f"/cases/{case.id}/decision?{query}"

    route = _no_violation_route(tree, node, draft.answers, outcome)
    if draft.actions is not None:
        chosen = draft.actions
    else:
        chosen = [a.value for a in outcome.actions] if outcome else []
    return {
        "case": case, "policies": policies, "policy": policy, "draft": draft, "path": path, "outcome": outcome,
        "question": None if outcome else tree["nodes"][node], "step_url": step_url,
        "no_violation": None if route is None else step_url(route),
        "allowed": [a.value for a in spec.allowed_actions], "chosen": chosen, "error": error,
        "canned": rationales_for(session, policy.code),
    }


@router.get("/cases/{case_id}/decision")
def decision_panel(
    request: Request, case_id: RowId, policy_code: str = "", answers: list[Count] = Query([]),
    who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """One step of the guided decision, as an htmx fragment."""
    case = access.visible_case(session, who.reviewer, case_id)
    if case.kind in access.LEGAL_KINDS:
        raise Conflict("case_id", f"case {case_id} is a {case.kind.replace('_', ' ')}: it is answered on the request's page, not decided")
    return render(request, "_decision.html", {"who": who, "panel": _panel(session, case, Draft(policy_code or case.policy_code, answers))})


def decision_params(actions: list[str], days: str, label: str) -> dict[str, Any]:
    """The params the chosen actions take, from the form; the service checks them and names
    what is wrong (an unknown action among them too)."""
    number = whole_number(days)
    form: dict[str, Any] = {"days": number if number is not None else days, "label": label}
    return {
        name: form[name]
        for kind in actions if kind in REGISTRY
        for name in action_type(kind).params
    }


def rationale_needed(actions: list[str], rationale: str) -> None:
    """Acting on someone's content needs reasons: they go into the statement of reasons."""
    if actions and not rationale.strip():
        raise FieldError("rationale", "say why this breaks the policy; it goes into the statement of reasons")


@router.post("/cases/{case_id}/decide")
def decide(
    request: Request, case_id: RowId,
    policy_code: str = Form(""), answers: list[Count] = Form([]), actions: list[str] = Form([]),
    days: str = Form(""), label: str = Form(""), rationale: str = Form(""), opened_ms: int = Form(0, ge=0, le=INT64_MAX),
    queue_id: int | None = Form(None, ge=1, le=MAX_BIGINT),
    who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED,
    terms: claiming.Terms = Depends(claim_terms),
) -> Response:
    """Decide the held case, then go straight to the next one (from the same queue, if working one)."""
    draft = Draft(policy_code, answers, actions, days, label, rationale)
    spent = _spent(opened_ms)
    try:
        rationale_needed(actions, rationale)
        with session.begin_nested():
            decide_case(session, who.reviewer, who.actor, case_id, DecisionRequest(
                policy_code=policy_code, answers=answers, actions=actions, rationale=rationale.strip(),
                time_spent_ms=spent, params=decision_params(actions, days, label),
            ))
    except FieldError as exc:  # CaseNotHeld among them
        return case_view(request, who, session, case_id, draft=draft, error=str(exc), status=exc.status, queue_id=queue_id)
    return _next_after_decision(session, who, terms, queue_id)


@router.post("/cases/{case_id}/appeal-outcome")
def appeal_outcome(
    request: Request, case_id: RowId, outcome: str = Form(""), rationale: str = Form(""),
    opened_ms: int = Form(0, ge=0, le=INT64_MAX), queue_id: int | None = Form(None, ge=1, le=MAX_BIGINT),
    who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED,
    terms: claiming.Terms = Depends(claim_terms),
) -> Response:
    """Decide the held appeal case (upheld, or overturned and reversed), then take the next case."""
    try:
        with session.begin_nested():
            decide_appeal(session, who.reviewer, who.actor, case_id, outcome, rationale, _spent(opened_ms))
    except FieldError as exc:
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status, queue_id=queue_id,
                          appeal_form={"outcome": outcome, "rationale": rationale})
    return _next_after_decision(session, who, terms, queue_id)


def _spent(opened_ms: int) -> int:
    """Time on the page, from when it was opened (as the page says) to now, at most a day."""
    return min(max(0, int(time.time() * 1000) - opened_ms), MAX_TIME_SPENT_MS) if opened_ms else 0


def _next_after_decision(session: Session, who: StaffContext, terms: claiming.Terms, queue_id: int | None) -> Response:
    try:
        with session.begin_nested():
            claim = claiming.next_case(session, who.reviewer, terms, queue_id=queue_id)
    except FieldError:  # that queue is no longer open to you: the decision stands, pick again from the queues
        claim = claiming.Claim(None)
        queue_id = None
    return _to_claim(claim, after_decision=True, queue_id=queue_id)


# --- the case page ------------------------------------------------------------------------


def _holds(session: Session, who: StaffContext, case_id: int) -> bool:
    try:
        claiming.held(session, who.reviewer, case_id, lock=False)
    except claiming.CaseNotHeld:
        return False
    return True


def _read_only_reason(session: Session, file: CaseFile) -> str:
    case = file.case
    if case.status != "open":
        return f"This case is {case.status}; nothing more to do here."
    if _claimed(case) and case.claimed_by:
        holder = session.get(StaffUser, case.claimed_by)
        return f"{holder.display_name if holder else 'Someone else'} is working on this case. You can read it, not decide it."
    return "Nobody holds this case. Take cases with “Next case” to decide them."


def _lease(case: Case, terms: claiming.Terms) -> dict[str, Any]:
    """What the lease badge shows (held until when at the latest) and how often the page renews it."""
    return {"case_id": case.id, "held": True, "limit": claiming.hold_limit(case, terms),
            "renew_every": RENEW_EVERY_SECONDS, "active_within": ACTIVE_WITHIN_SECONDS}


def case_view(
    request: Request, who: StaffContext, session: Session, case_id: int, *, draft: Draft | None = None,
    notice: str | None = None, error: str | None = None, status: int = 200, queue_id: int | None = None,
    appeal_form: dict[str, str] | None = None, reply_pick: dict[str, Any] | None = None,
) -> HTMLResponse:
    file = load_case_file(session, who.reviewer, case_id)
    holding = _holds(session, who, case_id)
    appeal = appeal_file(session, who.reviewer, case_id) if file.case.kind == CaseKind.APPEAL else None
    working = session.get(Queue, queue_id) if queue_id else None
    context: dict[str, Any] = {
        "who": who, "file": file, "case": file.case, "subject": file.tree.subject, "holding": holding,
        "lease": _lease(file.case, claim_terms(request)) if holding else None, "working": working,
        "read_only": None if holding else _read_only_reason(session, file), "notice": _notice(notice), "error": error,
        "due": due(file.case), "now_ms": _ms(utcnow()), "why": EXPLANATIONS, "opened_ms": int(time.time() * 1000),
        "reviewer": who.has(*CASE_TAKERS),
        "reports_shown": REPORTS_SHOWN, "children_shown": CHILDREN_SHOWN,
        "strike_weight": sum(s.weight for s in file.active_strikes), "may_comment": who.has(*CASE_STAFF),
        "comments": file.comments, "outcomes": case_outcomes(session, case_id),
        "case_notices": notices_of_case(session, case_id), "has_requester": file.has_requester,
        "may_escalate": who.has(*CASE_STAFF) and file.case.status == "open", "tiers": TIER_NAMES, "urgencies": [u.value for u in Urgency],
        "may_de_escalate": who.has(*TIER_STAFF) and file.case.tier is not None and file.case.status == "open",
        "open_escalation": next((e for e in file.escalations if e.status == EscalationStatus.OPEN), None),
        "appeal": appeal, "appeal_form": appeal_form or {},
        "case_statements": statements.of_case(session, who.reviewer, case_id, STATEMENTS_SHOWN),
        "own_decision": appeal is not None and appeal.appeal.original_reviewer_id == who.user_id,
        "hash_banks": list_banks(session, active_only=True)
        if file.case.decided_at and file.tree.subject.media_items and who.has(*ENFORCERS) else [],
        "ncmec": ncmec_panel(session, who, file.case),
    }
    context["privacy_request"] = privacy_requests.request_of_case(session, case_id) if file.case.kind == CaseKind.PRIVACY_REQUEST else None
    context["legal_request"] = file.case.kind in access.LEGAL_KINDS  # answered on its request's page, not decided here
    context["authorities_request"] = authorities.request_of_case(session, case_id) \
        if file.case.kind == CaseKind.LAW_ENFORCEMENT_REQUEST else None
    if holding and appeal is None and not context["legal_request"]:
        context["panel"] = _panel(session, file.case, draft or Draft(file.case.policy_code))
    context["replies"] = replies_on(session, who.reviewer, case_id)
    if who.has(*CASE_STAFF):
        context["reply"] = reply_panel(request, session, who, file.case, **(reply_pick or {}))
    return render(request, "case.html", context, status_code=status)


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: RowId, notice: str | None = None, queue: int | None = Query(None, ge=1, le=MAX_BIGINT),
    channel: str = Query("", max_length=16), template_id: int | None = Query(None, ge=1, le=MAX_BIGINT),
    locale: str = Query("", max_length=16),
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    """Everything needed to decide without leaving the page; read-only unless you hold the case.

    `queue`: the reviewer is working that queue, so "next case" here keeps taking from it.
    `channel`, `template_id`, `locale`: the reply picked in the Reply panel (its picker without scripts).
    """
    pick = {"channel": channel, "template_id": template_id, "locale": locale}
    return case_view(request, who, session, case_id, notice=notice, queue_id=queue, reply_pick=pick)


@router.post("/cases/{case_id}/renew")
def renew(
    request: Request, case_id: RowId, who: StaffContext = Depends(staff_with(*CASE_TAKERS)), session: Session = COMMITTED,
    terms: claiming.Terms = Depends(claim_terms),
) -> HTMLResponse:
    """Keep the lease while the reviewer is active on the page; once it is lost, say why (and stop renewing)."""
    try:
        case = claiming.renew(session, who.reviewer, case_id, terms)
    except claiming.CaseNotHeld as exc:
        return render(request, "_lease.html", {"case_id": case_id, "held": False, "lost": exc.message})
    return render(request, "_lease.html", _lease(case, terms))


@router.post("/cases/{case_id}/imminent-harm")
def imminent_harm(
    request: Request, case_id: RowId, reason: str = Form("", max_length=2000),
    who: StaffContext = Depends(staff_with(*REVIEWERS)), session: Session = COMMITTED,
) -> Response:
    """Flag a threat to life, self-harm or a child at risk: top priority, shortest SLA."""
    try:
        with session.begin_nested():
            case = routing.flag_imminent_harm(session, who.actor, who.reviewer, case_id, reason.strip())
    except NotFound:
        raise
    except FieldError as exc:  # decided meanwhile (409), or no reason given (422)
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status)
    if not access.may_see(session.get_one(Queue, case.queue_id), who.reviewer):
        return RedirectResponse("/queues?notice=flagged-handed-over", status_code=303)
    return RedirectResponse(f"/cases/{case_id}?notice=flagged", status_code=303)


@router.post("/cases/{case_id}/comments")
def comment(
    request: Request, case_id: RowId, body: str = Form(""), visibility: str = Form(CommentVisibility.INTERNAL.value, max_length=16),
    who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = COMMITTED,
) -> HTMLResponse:
    """Add to the thread (internal, or a note for the requester); answers with the thread, for htmx to swap in."""
    error = None
    try:
        with session.begin_nested():
            add_comment(session, who.actor, who.reviewer, case_id, body, visibility)
    except NotFound:
        raise
    except FieldError as exc:
        error = str(exc)
    file = load_case_file(session, who.reviewer, case_id)
    context = {"who": who, "case": file.case, "comments": file.comments, "may_comment": True, "comment_error": error,
               "has_requester": file.has_requester}
    return render(request, "_comments.html", context, status_code=422 if error else 200)

