"""Console pages for the policy catalogue: everyone reads it, admins publish new versions.

The edit form has a control per common field (actions as checkboxes, the DSA category and the
NCMEC incident type as selects, the DSA keywords as a multi-select that `policy_form.js` narrows
to the chosen category) and the decision tree as JSON. A refused edit comes back with everything
the admin typed and the message next to the field at fault; an edit that changes nothing makes
no version and says so.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from trustdesk.canned_rationales import MAX_POSITION, add_rationale, edit_rationale, rationales_for, remove_rationale
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.policies import Action
from trustdesk.domain.roles import ADMINS
from trustdesk.domain.taxonomy import DSA_CATEGORIES, DSA_KEYWORDS, DSA_KEYWORDS_BY_CATEGORY, NCMEC_INCIDENT_TYPES
from trustdesk.policy_versions import current_policies, publish_version, tree_of
from trustdesk.store.models import Policy
from trustdesk.domain.client_input import RowId, json_of
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)

# keyword → the category it belongs to ("" for the untied ones, which fit every category)
_CATEGORY_OF = {keyword: category for category, keywords in DSA_KEYWORDS_BY_CATEGORY.items() for keyword in keywords}
CHOICES = {
    "actions": [a.value for a in Action],
    "categories": sorted(DSA_CATEGORIES),
    "keywords": [(k, _CATEGORY_OF.get(k, "")) for k in sorted(DSA_KEYWORDS, key=lambda k: (_CATEGORY_OF.get(k, "~"), k))],
    "ncmec_types": sorted(NCMEC_INCIDENT_TYPES),
}
# Fixed messages named in redirects (`?rationale=...`), so a URL cannot put words on the page.
RATIONALE_NOTICES = {
    "added": "Canned rationale added: reviewers see it in the decision panel now.",
    "saved": "Canned rationale saved.",
    "removed": "Canned rationale removed.",
}


@router.get("/policies")
def policy_list(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    return render(request, "policies.html", {"who": who, "policies": current_policies(session)})


def _versions(session: Session, code: str) -> list[Policy]:
    versions = list(session.execute(select(Policy).where(Policy.code == code).order_by(Policy.version.desc())).scalars())
    if not versions:
        raise NotFound("code", f"no policy {code!r}")
    return versions


def _values(policy: Policy) -> dict[str, Any]:
    """The form filled from a stored version."""
    return {
        "title": policy.title, "severity": str(policy.severity), "allowed_actions": list(policy.allowed_actions),
        "dsa_category": policy.dsa_category, "dsa_keywords": list(policy.dsa_keywords),
        "ncmec_incident_type": policy.ncmec_incident_type or "", "graphic": policy.graphic,
        "description": policy.description, "guidance": policy.guidance,
        "decision_tree": json.dumps(tree_of(policy), indent=2, ensure_ascii=False),
    }


def _submitted(form: FormData, current: dict[str, Any]) -> dict[str, Any]:
    """The form as typed. Browser line ends (CRLF) are made plain so that a form sent back
    unchanged compares equal; a text field left out of the post keeps its current value."""

    def text(name: str) -> str:
        sent = form.get(name)
        return current[name] if sent is None else str(sent).replace("\r\n", "\n").strip()

    return {
        "title": text("title"), "severity": text("severity"),
        "allowed_actions": [str(a) for a in form.getlist("allowed_actions")],
        "dsa_category": text("dsa_category"), "dsa_keywords": [str(k) for k in form.getlist("dsa_keywords")],
        "ncmec_incident_type": text("ncmec_incident_type"), "graphic": form.get("graphic") == "on",
        "description": text("description"), "guidance": text("guidance"), "decision_tree": text("decision_tree"),
    }


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the service takes them; raises FieldError for what cannot be read."""
    try:
        severity = int(values["severity"])
    except ValueError:
        raise FieldError("severity", "a whole number from 1 to 5") from None
    tree = json_of("decision_tree", values["decision_tree"]) if values["decision_tree"] else None
    return values | {"severity": severity, "ncmec_incident_type": values["ncmec_incident_type"] or None, "decision_tree": tree}


def _page(
    request: Request, who: StaffContext, session: Session, versions: list[Policy], values: dict[str, Any] | None = None,
    error: FieldError | None = None, notice: str | None = None, rationale_error: FieldError | None = None,
) -> HTMLResponse:
    policy = versions[0]
    failed = error or rationale_error
    context = {
        "who": who, "policy": policy, "versions": versions, "values": values or _values(policy), "notice": notice,
        # the form field a message belongs next to: `decision_tree.nodes.q1.question` → `decision_tree`
        "error": error, "error_field": error.field.split(".")[0].split("[")[0] if error else None,
        "can_edit": who.has(*ADMINS), "choices": CHOICES,
        "rationales": rationales_for(session, policy.code), "rationale_error": rationale_error,
    }
    return render(request, "policy.html", context, status_code=failed.status if failed else 200)


@router.get("/policies/{code}")
def policy_page(
    request: Request, code: str, published: bool = False, unchanged: bool = False, rationale: str = "",
    who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session),
) -> HTMLResponse:
    versions = _versions(session, code)
    notice = None
    if published:
        notice = f"Published version {versions[0].version}. Decisions from now on apply it; earlier ones keep theirs."
    elif unchanged:
        notice = f"Nothing changed, so no new version was made: version {versions[0].version} is still current."
    elif rationale in RATIONALE_NOTICES:
        notice = RATIONALE_NOTICES[rationale]
    return _page(request, who, session, versions, notice=notice)


@router.post("/policies/{code}")
async def publish(
    request: Request, code: str, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    """Publish the edited policy as a new version; decisions keep the version they applied."""
    versions = _versions(session, code)
    values = _submitted(await request.form(), _values(versions[0]))
    try:
        with session.begin_nested():
            _policy, changed = publish_version(session, who.actor, code, _changes(values))
    except FieldError as exc:
        return _page(request, who, session, versions, values, exc)
    return RedirectResponse(f"/policies/{code}?{'published' if changed else 'unchanged'}=1", status_code=303)


# --- canned rationales (admins) -------------------------------------------------------------


def _rationale_change(request: Request, who: StaffContext, session: Session, code: str, change: Any, done: str) -> Response:
    """Run `change`; back to the policy page with a notice, or with the error beside the rationales."""
    versions = _versions(session, code)
    try:
        with session.begin_nested():
            change()
    except NotFound:
        raise
    except FieldError as exc:
        return _page(request, who, session, versions, rationale_error=exc)
    return RedirectResponse(f"/policies/{code}?rationale={done}#rationales", status_code=303)


@router.post("/policies/{code}/rationales")
def create_rationale(
    request: Request, code: str, text: str = Form(""), position: int = Form(100, ge=0, le=MAX_POSITION),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    """Add a canned rationale to the policy; reviewers are offered it as a one-click fill."""
    return _rationale_change(request, who, session, code, lambda: add_rationale(session, who.actor, code, text, position), "added")


@router.post("/policies/{code}/rationales/{rationale_id}")
def update_rationale(
    request: Request, code: str, rationale_id: RowId, text: str = Form(""), position: int = Form(100, ge=0, le=MAX_POSITION),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    return _rationale_change(
        request, who, session, code, lambda: edit_rationale(session, who.actor, rationale_id, text, position, code), "saved")


@router.post("/policies/{code}/rationales/{rationale_id}/delete")
def delete_rationale(
    request: Request, code: str, rationale_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    return _rationale_change(request, who, session, code, lambda: remove_rationale(session, who.actor, rationale_id, code), "removed")
