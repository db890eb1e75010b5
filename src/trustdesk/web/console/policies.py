"""Console pages for the policy catalogue: everyone reads it, admins publish new versions."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.domain.decision_trees import default_tree
from trustdesk.domain.policies import Action, PolicyError
from trustdesk.domain.roles import ADMINS
from trustdesk.domain.taxonomy import DSA_CATEGORIES, DSA_KEYWORDS
from trustdesk.policy_versions import current_policies, publish_version, spec_of
from trustdesk.store.models import Policy
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)


@router.get("/policies")
def policy_list(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    return render(request, "policies.html", {"who": who, "policies": current_policies(session)})


def _versions(session: Session, code: str) -> list[Policy]:
    versions = list(session.execute(select(Policy).where(Policy.code == code).order_by(Policy.version.desc())).scalars())
    if not versions:
        raise HTTPException(404, f"code: no policy {code!r}")
    return versions


def _page(request: Request, who: StaffContext, versions: list[Policy], error: str | None = None, status_code: int = 200) -> HTMLResponse:
    context = {
        "who": who, "policy": versions[0], "versions": versions, "error": error,
        "actions": [a.value for a in Action], "categories": sorted(DSA_CATEGORIES), "keywords": sorted(DSA_KEYWORDS),
        "can_edit": who.has(*ADMINS),
        "tree_json": json.dumps(versions[0].decision_tree or default_tree(spec_of(versions[0])), indent=2, ensure_ascii=False),
    }
    return render(request, "policy.html", context, status_code=status_code)


@router.get("/policies/{code}")
def policy_page(request: Request, code: str, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    return _page(request, who, _versions(session, code))


@router.post("/policies/{code}")
async def publish(
    request: Request, code: str, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    """Publish the edited policy as a new version; decisions keep the version they applied."""
    form = await request.form()
    try:
        severity = int(str(form.get("severity", "")))
    except ValueError:
        return _page(request, who, _versions(session, code), "severity: must be a whole number from 1 to 5", 422)
    changes = {
        "title": str(form.get("title", "")).strip(),
        "severity": severity,
        "allowed_actions": [str(a) for a in form.getlist("allowed_actions")],
        "dsa_category": str(form.get("dsa_category", "")),
        "dsa_keywords": [str(k) for k in form.getlist("dsa_keywords")],
        "graphic": form.get("graphic") == "on",
        "description": str(form.get("description", "")).strip(),
    }
    tree_text = str(form.get("decision_tree", "")).strip()
    try:
        changes["decision_tree"] = json.loads(tree_text) if tree_text else None
    except json.JSONDecodeError as exc:
        return _page(request, who, _versions(session, code), f"decision_tree: not valid JSON ({exc.msg}, line {exc.lineno})", 422)
    if not changes["title"]:
        return _page(request, who, _versions(session, code), "title: must not be empty", 422)
    try:
        publish_version(session, who.actor, code, changes)
    except (PolicyError, ValueError) as exc:
        return _page(request, who, _versions(session, code), str(exc), 422)
    except LookupError as exc:
        raise HTTPException(404, f"code: {exc}") from exc
    return RedirectResponse(f"/policies/{code}", status_code=303)
