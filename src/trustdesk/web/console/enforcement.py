"""Console pages for enforcement beyond one case: cascade takedowns (preview, apply, undo) and
bulk decisions, which the worker carries out while the page shows progress.

A cascade is always previewed from exactly what would be applied, and applying it lands on a
page with an Undo button, because a takedown of a whole shop is the easiest mistake to make
and the one that most needs a way back. A subject in a queue the caller may not see
(need-to-know) is not found here either.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases.access import restricted_subjects, visible_subject
from trustdesk.delivery import outbox
from trustdesk.domain.action_types import REGISTRY
from trustdesk.domain.client_input import INT64_MAX, RowId, whole_number
from trustdesk.domain.decision_trees import VERDICTS, VIOLATION
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.policies import Action
from trustdesk.domain.roles import ENFORCERS
from trustdesk.enforcement.actions import (
    MAX_DESCENDANTS,
    UndoResult,
    is_cascade,
    preview_cascade,
    undo_action,
    visible_action,
)
from trustdesk.enforcement import statements
from trustdesk.enforcement.bulk import (
    ITEM_STATUSES,
    MAX_SUBJECTS,
    ExternalRef,
    SubjectRef,
    bulk_items,
    bulk_status,
    item_views,
    start_bulk,
    start_undo,
)
from trustdesk.enforcement.decisions import DecisionRequest, cascade_on_subject, reverse_decision
from trustdesk.policy_versions import current_policies
from trustdesk.store.models import App, EnforcementAction, Subject
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.review import case_view, decision_params, rationale_needed
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
CASCADE_KINDS = sorted(t.name for t in REGISTRY if t.cascades)
DELIVERIES_SHOWN = 100
# Pages outside this module (the nav, the subject, case and queue pages) offer cascade and bulk
# only to those the routes below admit: the same roles as the enforcement API.
templates.env.globals["may_enforce"] = lambda who: who.has(*ENFORCERS)


# --- cascade --------------------------------------------------------------------------------


def _preview_page(
    request: Request, who: StaffContext, session: Session, subject_id: int, kind: str,
    error: str | None = None, status: int = 200, form: dict[str, str] | None = None,
) -> HTMLResponse:
    subject = visible_subject(session, who.reviewer, subject_id)
    preview = None
    try:
        preview = preview_cascade(session, subject_id, kind, who.reviewer)
    except FieldError as exc:
        if error is None:
            error, status = str(exc), exc.status
    policies = [p for p in current_policies(session) if kind in p.allowed_actions]
    context = {
        "who": who, "subject": subject, "kind": kind, "kinds": CASCADE_KINDS, "preview": preview, "error": error,
        "policies": policies, "form": form or {},
    }
    return render(request, "cascade.html", context, status_code=status)


@router.get("/subjects/{subject_id}/cascade")
def cascade_preview(
    request: Request, subject_id: RowId, kind: str = Action.CASCADE_TAKEDOWN.value,
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """Every subject the cascade would change, with its visibility before and after."""
    return _preview_page(request, who, session, subject_id, kind)


@router.post("/subjects/{subject_id}/cascade")
def cascade_apply(
    request: Request, subject_id: RowId, kind: str = Form(Action.CASCADE_TAKEDOWN.value), policy_code: str = Form(""),
    rationale: str = Form(""), who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> Response:
    """Apply the cascade as a decision under the chosen policy, with its rationale."""
    visible_subject(session, who.reviewer, subject_id)
    try:
        with session.begin_nested():
            action = cascade_on_subject(session, who.actor, who.reviewer, subject_id, policy_code, kind, rationale.strip())
    except FieldError as exc:
        form = {"policy_code": policy_code, "rationale": rationale}
        return _preview_page(request, who, session, subject_id, kind, str(exc), exc.status, form)
    return RedirectResponse(f"/actions/{action.id}", status_code=303)


def _action_page(
    request: Request, who: StaffContext, session: Session, action_id: int, *, undo: UndoResult | None = None,
    error: FieldError | None = None, status: int = 200, reason: str = "",
) -> HTMLResponse:
    action = visible_action(session, who.reviewer, action_id)
    if undo is None:
        rows = list(session.execute(
            select(EnforcementAction, Subject).join(Subject, Subject.id == EnforcementAction.subject_id)
            .where(EnforcementAction.cascade_of == action_id).order_by(EnforcementAction.id).limit(MAX_DESCENDANTS)
        ).tuples())
    else:  # the undo locked these subjects: reading them again costs no query
        rows = [(item, session.get_one(Subject, item.subject_id)) for item in undo.undone]
    hidden = restricted_subjects(session, who.reviewer, [s.id for _a, s in rows])  # counted, not named
    shown = [(a, s) for a, s in rows if s.id not in hidden]
    undone: dict[str, list[tuple[EnforcementAction, Subject]]] = {"restored": [], "skipped": []}
    for item, s in shown if undo is not None else ():
        undone["skipped" if item in undo.skipped else "restored"].append((item, s))
    context = {
        "who": who, "action": action, "subject": session.get(Subject, action.subject_id),
        "cascaded": shown if undo is None else [], "withheld": len(hidden),
        "undo": undo, "undone": undone, "error": error, "reason": reason,
        "deliveries": outbox.deliveries(session, who.reviewer, action_ids=[action_id], limit=DELIVERIES_SHOWN),
        "statement": statements.of_action(session, action_id),
    }
    return render(request, "action.html", context, status_code=status)


@router.get("/actions/{action_id}")
def action_page(
    request: Request, action_id: RowId, who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    return _action_page(request, who, session, action_id)


@router.post("/actions/{action_id}/undo")
def undo(
    request: Request, action_id: RowId, reason: str = Form(""), confirm: str = Form(""),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> HTMLResponse:
    """Withdraw the action and its cascade; subjects changed again since are left alone and listed.
    A cascade is undone only with a reason and a ticked confirmation."""
    try:
        with session.begin_nested():
            if confirm != "on" and is_cascade(session, visible_action(session, who.reviewer, action_id)):
                raise FieldError("confirm", "tick the box to confirm that every subject of the cascade is put back")
            result = undo_action(session, who.actor, action_id, reviewer=who.reviewer, reason=reason)
    except FieldError as exc:
        return _action_page(request, who, session, action_id, error=exc, status=exc.status, reason=reason)
    return _action_page(request, who, session, action_id, undo=result)


@router.post("/decisions/{decision_id}/reverse")
def reverse(
    request: Request, decision_id: RowId, case_id: int = Form(ge=1, le=INT64_MAX), reason: str = Form(""),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> Response:
    """Reverse a decision from its case's outcome panel; back to the case, which shows the reversal."""
    try:
        with session.begin_nested():
            reverse_decision(session, who.actor, who.reviewer, decision_id, reason)
    except FieldError as exc:
        if isinstance(exc, NotFound):
            raise
        return case_view(request, who, session, case_id, error=str(exc), status=exc.status)
    return RedirectResponse(f"/cases/{case_id}?notice=reversed", status_code=303)


# --- bulk -------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,;]+")
ITEMS_SHOWN = 100


def parse_refs(text: str, app: str) -> list[SubjectRef]:
    """Subjects from a textarea, one per line or separated by commas: TrustDesk ids, or the
    external ids of `app`."""
    tokens = [t for t in _SEPARATORS.split(text) if t]
    if app:
        return [ExternalRef(app, t) for t in tokens]
    bad = [t for t in tokens if not 1 <= (whole_number(t) or 0)]
    if bad:
        raise FieldError("subject_ids", f"not subject ids: {', '.join(b[:40] for b in bad[:5])}{' …' if len(bad) > 5 else ''}"
                                        " (for the host platform's ids, choose its app above)")
    return [int(t) for t in tokens]


def _bulk_form(
    request: Request, who: StaffContext, session: Session, values: dict[str, Any], error: FieldError | None = None,
) -> HTMLResponse:
    context = {
        "who": who, "values": values, "error": error, "policies": current_policies(session), "verdicts": VERDICTS,
        "all_actions": [a.value for a in Action], "max_subjects": MAX_SUBJECTS,
        "apps": session.execute(select(App).order_by(App.name)).scalars().all(),
    }
    return render(request, "bulk.html", context, status_code=error.status if error else 200)


@router.get("/bulk")
def bulk_page(
    request: Request, subject_ids: list[RowId] = Query([]),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The bulk form, prefilled with the subjects ticked in a queue view."""
    values = {"subject_ids": "\n".join(map(str, subject_ids)), "app": "", "policy_code": "", "verdict": VIOLATION,
              "actions": [], "days": "", "label": "", "rationale": ""}
    return _bulk_form(request, who, session, values)


@router.post("/bulk")
def bulk_start(
    request: Request, subject_ids: str = Form(""), app: str = Form(""), policy_code: str = Form(""),
    verdict: str = Form(VIOLATION), actions: list[str] = Form([]), days: str = Form(""), label: str = Form(""),
    rationale: str = Form(""), who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> Response:
    """Check the whole request now, then leave the work to the worker."""
    values = {"subject_ids": subject_ids, "app": app, "policy_code": policy_code, "verdict": verdict, "actions": actions,
              "days": days, "label": label, "rationale": rationale}
    try:
        with session.begin_nested():
            refs = parse_refs(subject_ids, app)
            rationale_needed(actions, rationale)
            op = start_bulk(session, who.user_id, who.actor, refs, DecisionRequest(
                policy_code=policy_code, verdict=verdict, actions=actions, rationale=rationale.strip(),
                params=decision_params(actions, days, label),
            ))
    except FieldError as exc:
        return _bulk_form(request, who, session, values, exc)
    return RedirectResponse(f"/bulk/{op.id}", status_code=303)


def _progress(session: Session, who: StaffContext, op_id: int, show: str, after: int) -> dict[str, Any]:
    """The counts, and one page of items (only those with status `show`, if given) from `after` on."""
    status = bulk_status(session, op_id)
    items = bulk_items(session, op_id, status=show or None, after=after, limit=ITEMS_SHOWN + 1)
    views = item_views(session, who.reviewer, items[:ITEMS_SHOWN])
    return {
        "status": status, "items": views, "show": show, "after": after, "statuses": ITEM_STATUSES,
        "next_after": views[-1].position if len(items) > ITEMS_SHOWN else None,
        "done_share": 100 * (status.total - status.pending) / max(status.total, 1),
    }


def _progress_page(
    request: Request, who: StaffContext, session: Session, op_id: int, show: str = "", after: int = -1,
    error: FieldError | None = None, reason: str = "",
) -> HTMLResponse:
    context = {"who": who, "error": error, "reason": reason} | _progress(session, who, op_id, show, after)
    return render(request, "bulk_status.html", context, status_code=error.status if error else 200)


@router.get("/bulk/{op_id}")
def bulk_progress_page(
    request: Request, op_id: RowId, show: str = "", after: int = Query(-1, ge=-1, le=MAX_SUBJECTS),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The operation with a line per item: applied, skipped and why, or failed and why."""
    return _progress_page(request, who, session, op_id, show, after)


@router.get("/bulk/{op_id}/progress")
def bulk_progress(
    request: Request, op_id: RowId, show: str = "", after: int = Query(-1, ge=-1, le=MAX_SUBJECTS),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The live part of the page, polled by htmx every 2 s until the operation is done."""
    return render(request, "_bulk_progress.html", {"who": who} | _progress(session, who, op_id, show, after))


@router.post("/bulk/{op_id}/undo")
def bulk_undo(
    request: Request, op_id: RowId, reason: str = Form(""), confirm: str = Form(""),
    who: StaffContext = Depends(staff_with(*ENFORCERS)), session: Session = COMMITTED,
) -> Response:
    """Undo everything the operation applied, item by item in the worker; needs a reason and a
    ticked confirmation."""
    try:
        with session.begin_nested():
            if confirm != "on":
                raise FieldError("confirm", "tick the box to confirm that everything this operation applied is withdrawn")
            undo_op = start_undo(session, who.user_id, who.actor, op_id, reason)
    except NotFound:
        raise
    except FieldError as exc:
        return _progress_page(request, who, session, op_id, error=exc, reason=reason)
    return RedirectResponse(f"/bulk/{undo_op.id}", status_code=303)
