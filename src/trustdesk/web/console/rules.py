"""Console pages for rules: seniors, QA leads, analysts and admins read them; admins edit.

The edit form has the condition and the description as text, the mode as a select and the
effects as JSON (the same list a TOML file writes as `[[effects]]`). A refused save comes back
with everything the admin typed and the message; a save that changes nothing makes no version
and says so. The backtest page replays a period through a saved version, or through the draft
in the edit form, and lists the subjects it would add and drop.
"""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from trustdesk.domain.errors import FieldError
from trustdesk.domain.roles import ADMINS, RULE_READERS
from trustdesk.domain.rules import RuleMode, RuleSpec, parse_rule
from trustdesk.rules import versions
from trustdesk.rules.backtest import backtest, parse_since
from trustdesk.rules.evaluations import hit_counts
from trustdesk.store.models import Rule, RuleVersion, utcnow
from trustdesk.domain.client_input import json_of, whole_number
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates.env.globals["may_read_rules"] = lambda who: who.has(*RULE_READERS)  # the nav links here only for them

DEFAULT_SINCE = "30d"
LISTED = 200  # subjects listed per side of a backtest
NEW_RULE = {"name": "", "description": "", "mode": RuleMode.SHADOW.value, "expression": "", "effects": "[]"}
# Fixed messages named in redirects, so a URL cannot put words on the page.
NOTICES = {
    "saved": "Saved as version {version}. Events from now on are evaluated with it; earlier hits keep their version.",
    "unchanged": "Nothing changed, so no new version was made: version {version} is still current.",
}


def _values(version: RuleVersion) -> dict[str, str]:
    """The form filled from a stored version."""
    return {"description": version.description, "mode": version.mode, "expression": version.expression,
            "effects": json.dumps(version.effects, indent=2, ensure_ascii=False)}


def _submitted(form: FormData) -> dict[str, str]:
    """The form as typed, browser line ends (CRLF) made plain so that an unchanged form compares equal."""
    return {key: str(form.get(key) or "").replace("\r\n", "\n") for key in NEW_RULE}


def _spec(name: str, values: dict[str, str]) -> RuleSpec:
    """The rule the form says; FieldError for what cannot be read."""
    effects = json_of("effects", values["effects"]) if values["effects"].strip() else []
    return parse_rule({"name": name, "description": values["description"].strip(), "mode": values["mode"],
                       "expression": values["expression"], "effects": effects})


def _history(found: list[RuleVersion]) -> list[tuple[RuleVersion, list[str]]]:
    """Each version (newest first) with what it changed from the one before."""
    return [(v, versions.changed_fields(found[i + 1] if i + 1 < len(found) else None, v)) for i, v in enumerate(found)]


def _page(request: Request, who: StaffContext, session: Session, rule: Rule | None, values: dict[str, str],
          error: FieldError | None = None, notice: str | None = None) -> HTMLResponse:
    found = versions.versions(session, rule) if rule else []
    context = {
        "who": who, "rule": rule, "current": found[0] if found else None, "history": _history(found), "values": values,
        "error": error, "error_field": error.field.split(".")[0].split("[")[0] if error else None, "notice": notice,
        "can_edit": who.has(*ADMINS), "modes": [m.value for m in RuleMode], "default_since": DEFAULT_SINCE,
        "hits": hit_counts(session, utcnow() - timedelta(hours=24)).get(rule.id, {}) if rule else {},
    }
    return render(request, "rule.html", context, status_code=error.status if error else 200)


@router.get("/rules")
def rule_list(request: Request, who: StaffContext = Depends(staff_with(*RULE_READERS)),
              session: Session = Depends(read_session)) -> HTMLResponse:
    """Every rule with its mode, current version, effects and hits in the last 24 hours."""
    return render(request, "rules.html", {"who": who, "rules": versions.current_versions(session),
                                          "hits": hit_counts(session, utcnow() - timedelta(hours=24))})


@router.get("/rules/new")
def new_rule(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> HTMLResponse:
    return _page(request, who, session, None, dict(NEW_RULE))


@router.post("/rules/new")
async def create_rule(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    """Save a rule of a new name as its version 1; a taken name is refused, not versioned."""
    form = await request.form()
    values = _submitted(form) | {"name": str(form.get("name") or "").strip()}
    try:
        with session.begin_nested():
            saved = versions.save_rule(session, who.actor, _spec(values["name"], values), source="console", new=True)
    except FieldError as exc:
        return _page(request, who, session, None, values, exc)
    return RedirectResponse(f"/rules/{saved.rule.name}?done=saved", status_code=303)


@router.get("/rules/{name}")
def rule_page(request: Request, name: str, done: str = Query("", max_length=16),
              who: StaffContext = Depends(staff_with(*RULE_READERS)), session: Session = Depends(read_session)) -> HTMLResponse:
    rule, current = versions.rule_named(session, name)
    notice = NOTICES[done].format(version=current.version) if done in NOTICES else None
    return _page(request, who, session, rule, _values(current), notice=notice)


@router.post("/rules/{name}")
async def save_rule(request: Request, name: str, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    """Save the edited rule as its next version; hits keep the version that made them."""
    rule, _current = versions.rule_named(session, name)
    values = _submitted(await request.form())
    try:
        with session.begin_nested():
            saved = versions.save_rule(session, who.actor, _spec(name, values), source="console")
    except FieldError as exc:
        return _page(request, who, session, rule, values, exc)
    return RedirectResponse(f"/rules/{name}?done={'saved' if saved.changed else 'unchanged'}", status_code=303)


def _backtest_page(request: Request, who: StaffContext, session: Session, name: str, since: str, *,
                   version: int | None = None, values: dict[str, str] | None = None) -> HTMLResponse:
    rule, current = versions.rule_named(session, name)
    now = utcnow()
    result = backtest(session, name, parse_since(since, now), now, version=version,
                      draft=_spec(name, values) if values is not None else None, reader=who.reviewer)
    context = {"who": who, "rule": rule, "current": current, "versions": versions.versions(session, rule), "since": since,
               "result": result, "added": result.added, "dropped": result.dropped, "listed": LISTED}
    return render(request, "rule_backtest.html", context)


@router.get("/rules/{name}/backtest")
def backtest_page(
    request: Request, name: str, since: str = Query(DEFAULT_SINCE, max_length=40), version: str = Query("", max_length=9),
    who: StaffContext = Depends(staff_with(*RULE_READERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """What a saved version (the current one unless chosen) matches over the period, against the live hits."""
    number = whole_number(version) if version else None
    if version and (number is None or number < 1):
        raise FieldError("version", "a version number")
    return _backtest_page(request, who, session, name, since, version=number)


@router.post("/rules/{name}/backtest")
async def backtest_draft(request: Request, name: str, who: StaffContext = Depends(staff_with(*ADMINS)),
                         session: Session = Depends(read_session)) -> HTMLResponse:
    """Backtest the edit form as typed, unsaved; a draft that cannot run comes back to the form."""
    form = await request.form()
    values = _submitted(form)
    try:
        return _backtest_page(request, who, session, name, str(form.get("since") or DEFAULT_SINCE)[:40], values=values)
    except FieldError as exc:
        if exc.status == 404:
            raise
        return _page(request, who, session, versions.rule_named(session, name)[0], values, exc)
