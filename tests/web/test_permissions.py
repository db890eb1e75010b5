"""Every route of the app declares exactly one permission, refuses everybody it should, and
gives an admitted caller its exact documented success status.

The route table is read from a real `create_app(...)` at collection time, so each route is its
own test case. Refusals need nothing more; success needs real objects, so `SUCCESS` says for
each route how an admitted caller makes it succeed (path ids, body) and which status that is.
An API route answers the status its OpenAPI operation documents (`status_code`, else 200); a
console page answers 200 and a console form that moves on answers 303. A new route without
an entry fails `test_every_route_says_how_it_succeeds`.

Refusals are decided before a route reaches the database, which they touch only to look up the
credential; that lookup runs on both databases in every other API and console test (and in the
successes here), so the refusals, a thousand cases, run on SQLite alone.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import TEST_PASSWORD_HASHING, TEST_SECRET, Api
from tests.web.refusals import field_of
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_client, create_staff_token
from trustdesk.auth.passwords import hash_password
from trustdesk.canned_rationales import add_rationale
from trustdesk.domain.hash_banks import BankSpec
from trustdesk.domain.legal_holds import HoldSpec
from trustdesk.evidence.holds import items_of, place_hold
from trustdesk.domain.law_enforcement import Intake
from trustdesk.law_enforcement import requests as le_requests
from trustdesk.domain.text_banks import TextBankSpec, entry
from trustdesk.hash_banks.banks import create_bank
from trustdesk.cases.access import Reviewer
from trustdesk.config import NcmecSettings
from trustdesk.ncmec import reports as ncmec_reports
from trustdesk.privacy import requests as privacy_requests
from trustdesk.text_banks import banks as text_banks
from trustdesk.cases import escalations
from trustdesk.cases.escalations import EscalationRequest
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.demo.images import CONTENT_TYPE, render_photo
from trustdesk.domain.vocabulary import Appellant, Role, Scope
from trustdesk.enforcement.actions import apply_action
from trustdesk.enforcement.bulk import run_chunk, start_bulk
from trustdesk.enforcement.appeals import AppealRequest, Filer, file_appeal
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.domain.rules import parse_rule
from trustdesk.replies.templates import seed_reply_templates
from trustdesk.rules.versions import save_rule
from trustdesk.store.database import Database
from trustdesk.store.models import (
    ApiClient,
    App,
    Case,
    Notice,
    NotifierRecord,
    OutboxMessage,
    Queue,
    ReplyTemplate,
    StaffUser,
    StatementOfReasons,
    Subject,
    utcnow,
)
from trustdesk.web.app import create_app
from trustdesk.web.permissions import CSRF_HEADER, SESSION_COOKIE

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SETUP = Actor("test", "setup")
PASSWORD = "long enough password"
PASSWORD_HASH = hash_password(PASSWORD, TEST_PASSWORD_HASHING)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permissions: tuple[tuple[str, ...], ...]
    documented_status: int | None = None  # the API operation's success status, as in the OpenAPI document

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def url(self) -> str:
        """The path with every parameter filled; `1` parses as an id and as an external id."""
        return re.sub(r"\{[^}]+\}", "1", self.path)

    @property
    def kind(self) -> str:
        return self.permissions[0][0] if len(self.permissions) == 1 else "invalid"

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.permissions[0][1:]

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


def _permissions(dependant: Dependant) -> Iterator[tuple[str, ...]]:
    for sub in dependant.dependencies:
        permission = getattr(sub.call, "permission", None)
        if permission is not None:
            yield permission
        yield from _permissions(sub)


def _endpoints(routes: Iterable[Any], skipped: set[str]) -> Iterator[Endpoint]:
    """The routes as the app serves them.

    FastAPI 0.165 wraps included routers; their `effective_candidates()` carry the full path
    and a dependant that includes router-level dependencies, exactly what a request meets.
    """
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from _endpoints(route.effective_candidates(), skipped)
        elif getattr(route, "path", None) not in skipped:
            dependant = getattr(route, "dependant", None)
            found = tuple(_permissions(dependant)) if dependant is not None else ()
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                yield Endpoint(method, route.path, found, getattr(route, "status_code", None))


def _route_table() -> list[Endpoint]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database("sqlite:///:memory:")
        app: FastAPI = create_app(Settings(data_dir=Path(tmp), secret_key=TEST_SECRET), db)
        db.dispose()
    framework = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url, "/static"}
    return list(_endpoints(app.routes, {path for path in framework if path}))


ENDPOINTS = _route_table()


def _of(kind: str, *, with_roles: bool | None = None, writes: bool = False) -> list[Any]:
    chosen = [
        e for e in ENDPOINTS
        if e.kind == kind
        and (with_roles is None or bool(e.arguments) == with_roles)
        and (not writes or e.method not in SAFE_METHODS)
    ]
    return [pytest.param(e, id=str(e)) for e in chosen]


def _call(api: Api, endpoint: Endpoint, headers: dict[str, str] | None = None) -> httpx.Response:
    body = None if endpoint.method in SAFE_METHODS else {}
    return api.client.request(endpoint.method, endpoint.url, json=body, headers=headers, follow_redirects=False)


def _is_login_redirect(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def _new_staff(session: Session, username: str, roles: list[str]) -> StaffUser:
    """A member straight into the table with a known password (hashing it each time costs seconds)."""
    user = StaffUser(username=username, display_name=username, password_hash=PASSWORD_HASH, roles=roles, skills={})
    session.add(user)
    session.flush()
    return user


def _session_for(api: Api, settings: Settings, user_id: int) -> str:
    """Give the test client a console session of this member; returns the CSRF token."""
    with api.db.session() as session:
        token = staff.open_session(session, settings, session.get_one(StaffUser, user_id))
    with api.db.reader() as session:
        found = staff.resolve_session(session, token)
        assert found is not None
        csrf = found.csrf_token
    api.client.cookies.set(SESSION_COOKIE, token)
    return csrf


def _log_in(api: Api, settings: Settings, role: Role) -> str:
    with api.db.session() as session:
        user_id = _new_staff(session, f"cookie-{role.value}", [role.value]).id
    return _session_for(api, settings, user_id)


def _token_of(api: Api, user_id: int) -> dict[str, str]:
    """Headers carrying a staff member's personal API token, which needs no CSRF token."""
    with api.db.session() as session:
        _client, token = create_staff_token(session, SETUP, session.get_one(StaffUser, user_id), "script")
    return {"Authorization": f"Bearer {token}"}


def _personal_token(api: Api, role: Role) -> dict[str, str]:
    with api.db.session() as session:
        user_id = _new_staff(session, f"token-{role.value}", [role.value]).id
    return _token_of(api, user_id)


def _token_without(api: Api, scope: str) -> str:
    with api.db.session() as session:
        app = session.get(App, api.app_id)
        assert app is not None
        _client, token = create_client(session, SETUP, app, "narrow", [s for s in Scope if s.value != scope])
    return token


# --- refusals ---------------------------------------------------------------------------------


def test_the_walk_sees_the_api_the_console_and_operations() -> None:
    paths = {e.path for e in ENDPOINTS}
    assert {"/healthz", "/metrics", "/login", "/", "/api/v1/reports", "/api/v1/subjects/{external_id}"} <= paths
    assert {e.kind for e in ENDPOINTS} == {"public", "scope", "roles"}


ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=str(e)) for e in ENDPOINTS])
def test_route_declares_exactly_one_permission(endpoint: Endpoint) -> None:
    assert len(endpoint.permissions) == 1, f"{endpoint} declares {endpoint.permissions or 'no permission'}"
    assert endpoint.kind in {"public", "scope", "roles"}


@ON_SQLITE
@pytest.mark.parametrize("endpoint", _of("scope"))
def test_scoped_route_refuses_missing_and_narrow_tokens(api: Api, endpoint: Endpoint) -> None:
    assert _call(api, endpoint).status_code == 401
    assert _call(api, endpoint, {"Authorization": "Bearer td_nope_nope"}).status_code == 401
    narrow = _call(api, endpoint, {"Authorization": f"Bearer {_token_without(api, endpoint.arguments[0])}"})
    assert narrow.status_code == 403 and endpoint.arguments[0] in narrow.json()["detail"]


@ON_SQLITE
@pytest.mark.parametrize("endpoint", _of("scope"))
def test_scoped_route_refuses_a_staff_token(api: Api, endpoint: Endpoint) -> None:
    assert _call(api, endpoint, _personal_token(api, Role.ADMIN)).status_code == 403


@ON_SQLITE
@pytest.mark.parametrize("endpoint", _of("roles"))
def test_staff_route_sends_anonymous_visitors_to_login(api: Api, endpoint: Endpoint) -> None:
    response = _call(api, endpoint)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    stale = _call(api, endpoint, {"Cookie": f"{SESSION_COOKIE}=not-a-session"})
    assert _is_login_redirect(stale)


@ON_SQLITE
@pytest.mark.parametrize("endpoint", _of("roles"))
def test_staff_route_refuses_tokens_that_are_not_a_staff_members(api: Api, endpoint: Endpoint) -> None:
    assert _call(api, endpoint, {"Authorization": "Bearer td_nope_nope"}).status_code == 401
    assert _call(api, endpoint, api.auth).status_code == 401


@ON_SQLITE
@pytest.mark.parametrize("endpoint", _of("roles", with_roles=True))
def test_staff_route_refuses_other_roles(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    outsiders = [role for role in Role if role.value not in endpoint.arguments]
    assert outsiders, f"{endpoint} lists every role; it should list none"
    csrf = _log_in(api, settings, outsiders[0])
    refused = _call(api, endpoint, {CSRF_HEADER: csrf})
    assert refused.status_code == 403 and field_of(refused) == "roles"
    assert _call(api, endpoint, _personal_token(api, outsiders[0])).status_code == 403


@ON_SQLITE
@pytest.mark.parametrize("endpoint", _of("roles", writes=True))
def test_staff_write_needs_the_csrf_token(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    _log_in(api, settings, Role(endpoint.arguments[0]) if endpoint.arguments else Role.ANALYST)
    for wrong in ({}, {CSRF_HEADER: "not-the-token"}):
        refused = _call(api, endpoint, wrong)
        assert refused.status_code == 403 and field_of(refused) == "csrf_token"


# --- success ----------------------------------------------------------------------------------


@dataclass
class World:
    """Real objects for every route: the caller holds an open case, and there is an action, a
    bulk operation, a notifier under measures, another member and an API client to act on."""

    api: Api
    params: dict[str, Any]  # path parameter → value
    ids: dict[str, int]


def _world(api: Api, caller_id: int) -> World:
    with api.db.session() as s:
        seed_queues(s, SETUP)
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account", "personal": {"email": "acc-1@example.org"}},
        {"external_id": "shop-1", "kind": "shop", "account_external_id": "acc-1"},
        {"external_id": "listing-1", "kind": "listing", "parent_external_id": "shop-1"},
        {"external_id": "photo-1", "kind": "photo", "account_external_id": "acc-1"},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc-1", "text": "buy followers"},
    ]})
    assert r.status_code == 200, r.text
    media = api.client.post("/api/v1/subjects/photo-1/media", files={"file": ("p.jpg", render_photo(1), CONTENT_TYPE)}, headers=api.auth)
    assert media.status_code == 200, media.text
    photo_item = media.json()["media"][0]["id"]
    r = api.post("/api/v1/reports", {"external_id": "r-1", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with api.db.session() as s:
        subjects = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
        queues = {q.name: q.id for q in s.execute(select(Queue)).scalars()}
        case = s.execute(select(Case).where(Case.subject_id == subjects["post-1"])).scalar_one()
        assert case.queue_id == queues["General"]
        case.claimed_by, case.lease_until = caller_id, utcnow() + timedelta(minutes=5)
        endpoint, _secret = add_endpoint(s, SETUP, SecretBox(api.client.app.state.settings.secret_key), s.get_one(App, api.app_id),
                                         "http://127.0.0.1:9/hooks", production=False)
        action = apply_action(s, SETUP, s.get_one(Subject, subjects["listing-1"]), "remove").action
        s.flush()
        delivery = s.execute(select(OutboxMessage).where(OutboxMessage.action_id == action.id)).scalar_one()
        delivery.state = "dead"
        op = start_bulk(s, caller_id, SETUP, [subjects["post-1"]], DecisionRequest("SPAM", verdict="no_violation"))
        labelled = start_bulk(s, caller_id, SETUP, [subjects["shop-1"]],  # run below: one to undo
                              DecisionRequest("SPAM", verdict="violation", actions=["label"], params={"label": "checked"}))
        s.add(NotifierRecord(key="account:1", app_id=api.app_id, founded=0, unfounded=20, unfounded_at_measure=20,
                             warned_at=utcnow(), suspended_until=utcnow() + timedelta(days=30)))
        assignee = _new_staff(s, "assignee", ["moderator"]).id
        client_id = s.execute(select(ApiClient.id).where(ApiClient.app_id == api.app_id)).scalars().first()
    while run_chunk(api.db, labelled.id):
        pass
    with api.db.session() as s:  # two automated warnings: one appealed, its case held by the caller; one to appeal
        appealed, fresh = (decide_subject(s, SETUP, subjects["acc-1"], DecisionRequest("SPAM", verdict="violation", actions=["warn"]))
                           for _ in range(2))
        appeal, _ = file_appeal(s, Filer(SETUP, app_id=api.app_id), AppealRequest(Appellant.USER, "not me", decision_id=appealed.id),
                                window=timedelta(days=183))
        appeal_case = s.get_one(Case, appeal.case_id)  # where the caller, of any reviewing role, may work it
        appeal_case.queue_id, appeal_case.claimed_by, appeal_case.lease_until = queues["General"], caller_id, utcnow() + timedelta(minutes=5)
        appeal_ids = {"appeal_id": appeal.id, "appeal_case": appeal_case.id, "fresh_decision": fresh.id}
        notice_id = s.execute(select(Notice.id).where(Notice.decision_id == appealed.id)).scalar_one()
    params = {
        "external_id": "post-1", "subject_id": subjects["shop-1"], "case_id": case.id, "queue_id": queues["General"],
        "action_id": action.id, "operation_id": op.id, "op_id": op.id, "key": "account:1", "code": "SPAM",
        "staff_id": assignee, "client_id": client_id, "endpoint_id": endpoint.id, "delivery_id": delivery.id,
        "appeal_id": appeal_ids["appeal_id"], "decision_id": appeal_ids["fresh_decision"], "notice_id": notice_id,
    }
    return World(api, params, subjects | {"graphic_queue": queues["Graphic content"], "assignee": assignee, "photo_item": photo_item,
                                          "done_op": labelled.id} | appeal_ids)


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Success:
    """How an admitted caller makes a route succeed: ids to use, the body, and the status
    (None: the documented one — the API operation's, or 200 for a console page)."""

    status: int | None = None
    params: Callable[[World], dict[str, Any]] = lambda _world: {}
    body: Body | None = None
    files: Callable[[], dict[str, Any]] | None = None
    query: dict[str, str] | None = None


def _login_form(world: World) -> dict[str, Any]:
    """The login form as a browser posts it, CSRF token from the page included."""
    with world.api.db.session() as s:
        _new_staff(s, "member", ["moderator"])
    page = world.api.client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    return {"username": "member", "password": PASSWORD, "csrf_token": csrf.group(1)}


def _queue_form(name: str, *, default: bool = False) -> dict[str, Any]:
    return {"name": name, "routing_expression": "" if default else "policy.code == 'SCAM'", "position": "15",
            "sla_P0": "30", "sla_P1": "120", "sla_P2": "600", "sla_P3": "2880", "required_languages": "",
            "exposure_limit_per_hour": "", "escalate_minutes_before_breach": "", "escalation_queue": "", "active": "on",
            **({"is_default": "on"} if default else {})}


SPAM_NO = {"policy_code": "SPAM", "verdict": "no_violation"}
FILING = {"external_id": "cx-1", "subject_external_id": "post-1", "policy_code": "SPAM", "requester_ref": "ticket-1", "reason": "wrote to support"}


def _at_engineering(world: World) -> dict[str, Any]:
    """The world's case escalated to the engineering tier, which admins staff."""
    with world.api.db.session() as s:
        escalations.escalate_locked(s, SETUP, s.get_one(Case, world.params["case_id"]), EscalationRequest("engineering", "a broken action"))
    return {}


def _hold(world: World) -> dict[str, Any]:
    """A preservation hold on the world's post, and its first evidence item."""
    with world.api.db.session() as s:
        hold = place_hold(s, SETUP, [world.ids["post-1"]], HoldSpec("law_enforcement_preservation", "preservation letter"))
        return {"hold_id": hold.id, "item_id": items_of(s, hold.id)[0].id}


LE_FILING = {"external_id": "le-1", "agency": "County Sheriff", "officer_name": "Det. Ana Ruiz", "officer_email": "aruiz@sheriff.example",
             "instrument": "emergency_disclosure", "reference": "SO-1", "subject_external_ids": ["post-1"],
             "received_at": "2026-12-01T09:30:00Z"}


def _le_request(world: World, *steps: str) -> dict[str, Any]:
    """An emergency disclosure request about the world's post, taken through `steps`."""
    intake = Intake("County Sheriff", "Det. Ana Ruiz", "aruiz@sheriff.example", "", "emergency_disclosure", "SO-1", ("post-1",),
                    datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    with world.api.db.session() as s:
        request_id = le_requests.receive(s, SETUP, world.api.app_id, intake)[0].id
        if "review" in steps:
            le_requests.start_review(s, SETUP, request_id)
        if "approve" in steps:
            le_requests.review(s, SETUP, request_id, "approve", "")
    return {"request_id": request_id}


def _le_filed(world: World) -> dict[str, Any]:
    """A request the host platform filed through the API, which it may read back."""
    r = world.api.post("/api/v1/law-enforcement-requests", LE_FILING)
    assert r.status_code == 201, r.text
    return {"request_id": r.json()["id"]}


def _filed(world: World) -> dict[str, Any]:
    r = world.api.post("/api/v1/escalations", FILING)
    assert r.status_code == 201, r.text
    return {"escalation_id": r.json()["id"]}


# Received today: its one extension can still be taken.
PRIVACY_FILING = {"external_id": "dsr-1", "subject_external_id": "acc-1", "regime": "gdpr", "request_type": "access",
                  "requester_name": "Ana", "requester_contact": "acc-1@example.org", "received_on": utcnow().date().isoformat()}


def _privacy_request(world: World) -> dict[str, Any]:
    r = world.api.post("/api/v1/privacy-requests", PRIVACY_FILING)
    assert r.status_code == 201, r.text
    return {"request_id": r.json()["id"]}


def _verified_request(world: World) -> dict[str, Any]:
    params = _privacy_request(world)
    with world.api.db.session() as s:
        privacy_requests.verify(s, SETUP, params["request_id"], True, "signed in to the account")
    return params


def _ccpa_request(world: World) -> dict[str, Any]:
    """A CCPA request to know: its receipt is to be confirmed."""
    r = world.api.post("/api/v1/privacy-requests", PRIVACY_FILING | {"external_id": "dsr-ccpa", "regime": "ccpa", "request_type": "know"})
    assert r.status_code == 201, r.text
    return {"request_id": r.json()["id"]}


def _answered_restriction(world: World) -> dict[str, Any]:
    r = world.api.post("/api/v1/privacy-requests", PRIVACY_FILING | {"external_id": "dsr-restrict", "request_type": "restriction"})
    assert r.status_code == 201, r.text
    with world.api.db.session() as s:
        privacy_requests.verify(s, SETUP, r.json()["id"], True, "signed in to the account")
        privacy_requests.complete(s, SETUP, r.json()["id"], "restricted while we check")
    return {"request_id": r.json()["id"]}


def _statement(world: World) -> dict[str, Any]:
    """A removal decided on the photo: it stores a statement of reasons."""
    with world.api.db.session() as s:
        decision = decide_subject(s, SETUP, world.ids["photo-1"], DecisionRequest("SPAM", verdict="violation", actions=["remove"]))
        s.flush()
        statement = s.execute(select(StatementOfReasons).where(StatementOfReasons.decision_id == decision.id)).scalar_one()
        return {"statement_id": statement.id}


def _canned(world: World) -> dict[str, Any]:
    """A canned rationale under the world's policy."""
    with world.api.db.session() as s:
        return {"rationale_id": add_rationale(s, SETUP, "SPAM", "links posted again and again").id}


RATIONALE = {"text": "links posted again and again", "position": "10"}


def _template(world: World) -> dict[str, Any]:
    """The default reply templates; the email one's id."""
    with world.api.db.session() as s:
        seed_reply_templates(s, SETUP)
        world.ids["template"] = s.execute(select(ReplyTemplate.id).where(ReplyTemplate.channel == "email")).scalars().first()
    return {"template_id": world.ids["template"]}


def _banked(world: World) -> dict[str, Any]:
    """A decided case on the photo (which has media), and a bank to add it to."""
    r = world.api.post("/api/v1/reports", {"external_id": "r-photo", "subject_external_id": "photo-1", "policy_code": "SPAM",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with world.api.db.session() as s:
        decide_subject(s, SETUP, world.ids["photo-1"], DecisionRequest("SPAM", verdict="violation", actions=["remove"]))
        world.ids["bank"] = create_bank(s, SETUP, BankSpec("scam photos", "scam")).id
        s.flush()
        return {"case_id": s.execute(select(Case.id).where(Case.subject_id == world.ids["photo-1"])).scalar_one()}


def _child_safety_case(world: World) -> dict[str, Any]:
    """A CSAM report on the photo: its case waits in the child-safety queue."""
    r = world.api.post("/api/v1/reports", {"external_id": "r-csam", "subject_external_id": "photo-1", "policy_code": "CSAM",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with world.api.db.reader() as s:
        return {"case_id": s.execute(select(Case.id).where(Case.subject_id == world.ids["photo-1"])).scalar_one()}


def _ncmec_draft(world: World, **opened: Any) -> dict[str, Any]:
    """The child-safety case with a draft CyberTipline report (or one NCMEC opened, with `opened`'s values);
    submitting queues it for the worker; the settings' NCMEC is not running, so retracting ends in a kept refusal."""
    params = _child_safety_case(world)
    with world.api.db.session() as s:
        built = ncmec_reports.build(s, SETUP, Reviewer(0, ("child-safety",)), params["case_id"], NcmecSettings())
        s.flush()
        for name, value in opened.items():
            setattr(built.report, name, value)
    return params


def _text_bank(_world: World) -> dict[str, Any]:
    """A keyword bank holding "bitcoin"."""
    with _world.api.db.session() as s:
        bank = text_banks.create_bank(s, SETUP, TextBankSpec("crypto_scam", "keyword"))
        text_banks.add_entries(s, SETUP, bank, [entry("keyword", "bitcoin")], source="test")
    return {"name": "crypto_scam"}


NEW_TEXT_BANK: Body = lambda _w: {"name": "crypto_scam", "kind": "keyword"}  # noqa: E731


WATCH = {"name": "watch", "mode": "shadow", "expression": "subject.text.contains('followers')", "effects": []}
WATCH_FORM = {"mode": "live", "expression": "subject.text.contains('followers')", "effects": "[]", "description": ""}


def _rule(world: World) -> dict[str, Any]:
    """A shadow rule to read, edit, switch and backtest."""
    with world.api.db.session() as s:
        save_rule(s, SETUP, parse_rule(WATCH), source="api")
    return {"name": "watch"}


TEMPLATE_JSON = {"name": "Checked", "channel": "social", "texts": [{"locale": "en", "body": "Case {{ case_id }}"}]}
TEMPLATE_FORM = {"name": "Checked", "channel": "email", "tone": "calm", "active": "on", "subject_en": "Case {{ case_id }}",
                 "body_en": "Your {{ subject_kind }} was reviewed."}
UPHELD = {"outcome": "upheld", "rationale": "the warning stands"}
APPEAL_CASE: Callable[[World], dict[str, Any]] = lambda w: {"case_id": w.ids["appeal_case"]}
GRAPHIC: Callable[[World], dict[str, Any]] = lambda w: {"queue_id": w.ids["graphic_queue"]}
PHOTO: Callable[[World], dict[str, Any]] = lambda w: {"subject_id": w.ids["photo-1"]}
SUCCESS: dict[str, Success] = {
    # operations
    "GET /healthz": Success(), "GET /metrics": Success(),
    # host-platform intake
    "POST /api/v1/subjects": Success(body=lambda _w: {"external_id": "new-1", "kind": "post"}),
    "POST /api/v1/subjects/batch": Success(body=lambda _w: {"items": [{"external_id": "new-2", "kind": "post"}]}),
    "PATCH /api/v1/subjects/{external_id}": Success(body=lambda _w: {"text": "edited"}),
    "POST /api/v1/subjects/{external_id}/media": Success(params=lambda _w: {"external_id": "photo-1"},
                                                         files=lambda: {"file": ("q.jpg", render_photo(2), CONTENT_TYPE)}),
    "GET /api/v1/subjects/{external_id}": Success(),
    "GET /api/v1/statements/{statement_id}": Success(params=lambda w: _statement(w)),
    "POST /api/v1/reports": Success(body=lambda _w: {"external_id": "r-2", "subject_external_id": "post-1", "policy_code": "SPAM",
                                                     "reporter_type": "anonymous"}),
    "POST /api/v1/reports/batch": Success(body=lambda _w: {"items": [{"external_id": "r-3", "subject_external_id": "post-1",
                                                                      "policy_code": "SPAM", "reporter_type": "anonymous"}]}),
    "POST /api/v1/subjects/{external_id}/deleted": Success(body=lambda _w: {"reason": "closed by its owner"}),
    "POST /api/v1/evaluate": Success(body=lambda _w: {"external_id": "new-3", "kind": "post", "text": "hello"}),
    "POST /api/v1/evaluate/batch": Success(body=lambda _w: {"items": [{"external_id": "new-4", "kind": "post"}]}),
    "GET /api/v1/evaluate/batch/{job_id}": Success(params=lambda w: {"job_id": w.api.post(
        "/api/v1/evaluate/batch", {"items": [{"external_id": "new-5", "kind": "post"}]}).json()["job_id"]}),
    "POST /api/v1/account-events": Success(body=lambda _w: {"external_id": "e-1", "account_external_id": "acc-1", "kind": "login",
                                                            "occurred_at": "2026-01-02T03:04:05Z"}),
    "POST /api/v1/account-events/batch": Success(body=lambda _w: {"items": [{"external_id": "e-2", "account_external_id": "acc-1",
                                                                             "kind": "login", "occurred_at": "2026-01-02T03:04:05Z"}]}),
    # queues and cases (API)
    "GET /api/v1/queues": Success(),
    "POST /api/v1/queues": Success(body=lambda _w: {"name": "Fraud", "routing_expression": "report.policy == 'SCAM'"}),
    "PUT /api/v1/queues/{queue_id}": Success(body=lambda _w: {"name": "General", "is_default": True}),
    "GET /api/v1/queues/{queue_id}/cases": Success(),
    "POST /api/v1/queues/{queue_id}/step-out": Success(params=GRAPHIC),
    "POST /api/v1/queues/{queue_id}/step-in": Success(params=GRAPHIC),
    "POST /api/v1/cases/next": Success(),
    "GET /api/v1/cases/{case_id}": Success(),
    "POST /api/v1/cases/{case_id}/renew": Success(),
    "POST /api/v1/cases/{case_id}/release": Success(),
    "POST /api/v1/cases/{case_id}/assign": Success(body=lambda w: {"staff_id": w.ids["assignee"]}),
    "POST /api/v1/cases/{case_id}/imminent-harm": Success(body=lambda _w: {"reason": "a threat to a named person"}),
    "POST /api/v1/cases/{case_id}/comments": Success(body=lambda _w: {"body": "a note"}),
    "POST /api/v1/cases/{case_id}/decision": Success(body=lambda _w: SPAM_NO),
    "GET /api/v1/cases/{case_id}/decisions": Success(),
    # escalations (API)
    "POST /api/v1/cases/{case_id}/escalations": Success(body=lambda _w: {"tier": "senior", "reason": "needs a second look"}),
    "GET /api/v1/cases/{case_id}/escalations": Success(),
    "POST /api/v1/cases/{case_id}/de-escalate": Success(params=_at_engineering, body=lambda _w: {"note": "fixed"}),
    "POST /api/v1/escalations": Success(body=lambda _w: FILING),
    "GET /api/v1/escalations/{escalation_id}": Success(params=_filed),
    # privacy requests (API: the host platform files them)
    "POST /api/v1/privacy-requests": Success(body=lambda _w: PRIVACY_FILING),
    "GET /api/v1/privacy-requests/{request_id}": Success(params=_privacy_request),
    "POST /api/v1/privacy-requests/{request_id}/receipt-confirmation": Success(params=_ccpa_request, body=lambda _w: {"how": "email"}),
    # decisions and actions (API)
    "GET /api/v1/subjects/{subject_id}/cascade": Success(),
    "POST /api/v1/subjects/{subject_id}/decision": Success(body=lambda _w: SPAM_NO),
    "POST /api/v1/actions/{action_id}/undo": Success(),
    "POST /api/v1/decisions/{decision_id}/reverse": Success(body=lambda _w: {"reason": "warned the wrong account"}),
    "POST /api/v1/bulk": Success(body=lambda w: {"subject_ids": [w.ids["post-1"]], "decision": SPAM_NO}),
    "GET /api/v1/bulk/{operation_id}": Success(),
    "GET /api/v1/bulk/{operation_id}/items": Success(),
    "POST /api/v1/bulk/{operation_id}/undo": Success(params=lambda w: {"operation_id": w.ids["done_op"]},
                                                     body=lambda _w: {"reason": "labelled by mistake"}),
    # appeals (API)
    "POST /api/v1/appeals": Success(body=lambda w: {"external_id": "ap-1", "statement": "I did nothing wrong",
                                                    "decision_id": w.ids["fresh_decision"]}),
    "GET /api/v1/appeals/outcomes": Success(),
    "GET /api/v1/appeals/{appeal_id}": Success(),
    "POST /api/v1/cases/{case_id}/appeal-outcome": Success(params=APPEAL_CASE, body=lambda _w: UPHELD),
    "GET /api/v1/notifiers": Success(),
    "GET /api/v1/notices/{notice_id}": Success(),
    "GET /api/v1/search": Success(query={"q": "post-1"}),
    "POST /api/v1/notifiers/{key}/reinstate": Success(),
    # console
    "GET /login": Success(), "POST /login": Success(303, body=_login_form), "POST /logout": Success(303),
    "GET /": Success(), "GET /home/counts": Success(),
    "GET /subjects/{subject_id}": Success(), "GET /subjects/{subject_id}/media": Success(params=PHOTO),
    "GET /subjects/{subject_id}/media/{item_id}": Success(params=lambda w: PHOTO(w) | {"item_id": w.ids["photo_item"]}),
    "GET /docs": Success(), "GET /favicon.ico": Success(),
    "POST /subjects/{subject_id}/reveal": Success(200, params=lambda w: {"subject_id": w.ids["acc-1"]},
                                                  body=lambda _w: {"reason": "checking a report"}),
    "GET /policies": Success(), "GET /policies/{code}": Success(),
    "POST /policies/{code}": Success(303, body=lambda _w: {
        "title": "Spam", "severity": "2", "allowed_actions": ["remove", "warn", "strike", "ban"], "dsa_category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "dsa_keywords": ["KEYWORD_INAUTHENTIC_ACCOUNTS"]}),
    "POST /policies/{code}/rationales": Success(303, body=lambda _w: RATIONALE),
    "POST /policies/{code}/rationales/{rationale_id}": Success(303, params=_canned, body=lambda _w: RATIONALE),
    "POST /policies/{code}/rationales/{rationale_id}/delete": Success(303, params=_canned),
    "GET /api/v1/policies/{code}/rationales": Success(),
    "POST /api/v1/policies/{code}/rationales": Success(body=lambda _w: {"text": "links posted again and again"}),
    "PUT /api/v1/rationales/{rationale_id}": Success(params=_canned, body=lambda _w: {"text": "links", "position": 1}),
    "DELETE /api/v1/rationales/{rationale_id}": Success(params=_canned),
    "GET /cases/{case_id}/reply": Success(),
    "POST /cases/{case_id}/replies": Success(303, params=_template, body=lambda w: {
        "template_id": str(w.ids["template"]), "locale": "en", "subject": "About your post", "body": "Reviewed.", "delivery": "copied"}),
    "GET /reply-templates": Success(), "GET /reply-templates/new": Success(),
    "GET /api/v1/reply-templates": Success(),
    "POST /api/v1/reply-templates": Success(body=lambda _w: TEMPLATE_JSON),
    "PUT /api/v1/reply-templates/{template_id}": Success(params=_template, body=lambda _w: TEMPLATE_JSON),
    "GET /api/v1/cases/{case_id}/reply-draft": Success(params=_template, query={"template_id": "1"}),
    "POST /api/v1/cases/{case_id}/replies": Success(params=_template, body=lambda w: {
        "template_id": w.ids["template"], "locale": "en", "body": "Reviewed.", "delivery": "copied"}),
    "GET /api/v1/cases/{case_id}/replies": Success(),
    "POST /reply-templates/new": Success(303, body=lambda _w: TEMPLATE_FORM),
    "GET /reply-templates/{template_id}": Success(params=_template),
    "POST /reply-templates/{template_id}": Success(303, params=_template, body=lambda _w: TEMPLATE_FORM),
    "GET /queues": Success(),
    "POST /queues/{queue_id}/step-out": Success(303, params=GRAPHIC),
    "POST /queues/{queue_id}/step-in": Success(303, params=GRAPHIC),
    "GET /queues/new": Success(), "POST /queues/new": Success(303, body=lambda _w: _queue_form("Scam desk")),
    "GET /queues/{queue_id}/edit": Success(), "POST /queues/{queue_id}/edit": Success(303, body=lambda _w: _queue_form("General", default=True)),
    "GET /queues/{queue_id}": Success(),
    "POST /cases/{case_id}/assign": Success(303, body=lambda w: {"staff_id": str(w.ids["assignee"])}),
    "POST /cases/next": Success(303),
    "GET /cases/{case_id}/decision": Success(),
    "POST /cases/{case_id}/decide": Success(303, body=lambda _w: {"policy_code": "SPAM", "answers": ["0", "0"], "actions": ["remove"],
                                                                 "rationale": "spam"}),
    "GET /cases/{case_id}": Success(),
    "POST /cases/{case_id}/appeal-outcome": Success(303, params=APPEAL_CASE, body=lambda _w: UPHELD),
    "POST /decisions/{decision_id}/appeal": Success(303, body=lambda _w: {"statement": "they say it was not them"}),
    "POST /cases/{case_id}/renew": Success(200),
    "POST /cases/{case_id}/imminent-harm": Success(303, body=lambda _w: {"reason": "a threat to a named person"}),
    "POST /cases/{case_id}/comments": Success(200, body=lambda _w: {"body": "a note"}),
    "POST /cases/{case_id}/escalate": Success(303, body=lambda _w: {"tier": "senior", "reason": "needs a second look"}),
    "POST /cases/{case_id}/de-escalate": Success(303, params=_at_engineering, body=lambda _w: {"note": "fixed"}),
    "GET /subjects/{subject_id}/cascade": Success(),
    "POST /subjects/{subject_id}/cascade": Success(303, body=lambda _w: {"kind": "cascade_takedown", "policy_code": "COUNTERFEIT", "rationale": "replica shop"}),
    "GET /notices/{notice_id}": Success(),
    "GET /actions/{action_id}": Success(), "POST /actions/{action_id}/undo": Success(200),
    "POST /decisions/{decision_id}/reverse": Success(303, body=lambda w: {"case_id": str(w.params["case_id"]), "reason": "warned the wrong account"}),
    "GET /bulk": Success(),
    "POST /bulk": Success(303, body=lambda w: {"subject_ids": str(w.ids["post-1"]), **SPAM_NO}),
    "GET /bulk/{op_id}": Success(), "GET /bulk/{op_id}/progress": Success(),
    "POST /bulk/{op_id}/undo": Success(303, params=lambda w: {"op_id": w.ids["done_op"]},
                                       body=lambda _w: {"reason": "labelled by mistake", "confirm": "on"}),
    "GET /staff": Success(), "POST /staff/{staff_id}/deactivate": Success(303), "POST /staff/{staff_id}/reactivate": Success(303),
    "GET /clients": Success(), "POST /clients/{client_id}/revoke": Success(303),
    # webhooks (admins)
    "GET /api/v1/webhooks": Success(),
    "POST /api/v1/webhooks": Success(body=lambda _w: {"app": "dating", "url": "https://hooks.example/td"}),
    "DELETE /api/v1/webhooks/{endpoint_id}": Success(),
    "GET /api/v1/webhooks/deliveries": Success(),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/retry": Success(),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/cancel": Success(),
    "GET /webhooks": Success(), "POST /webhooks": Success(200, body=lambda _w: {"app": "dating", "url": "https://hooks.example/td"}),
    "POST /webhooks/{endpoint_id}/remove": Success(303),
    "POST /webhooks/notice-channel": Success(303, body=lambda _w: {"app": "dating", "channel": "smtp"}),
    "POST /webhooks/deliveries/{delivery_id}/retry": Success(303), "POST /webhooks/deliveries/{delivery_id}/cancel": Success(303),
    "GET /search": Success(query={"q": "spam"}),
    # rules
    "GET /api/v1/rules": Success(params=_rule),
    "POST /api/v1/rules": Success(body=lambda _w: WATCH),
    "GET /api/v1/rules/{name}": Success(params=_rule),
    "POST /api/v1/rules/{name}/mode": Success(params=_rule, body=lambda _w: {"mode": "live"}),
    "GET /api/v1/rules/{name}/backtest": Success(params=_rule, query={"since": "1d"}),
    "POST /api/v1/rules/{name}/backtest": Success(params=_rule, body=lambda _w: WATCH | {"expression": "true"}),
    "GET /rules": Success(params=_rule), "GET /rules/new": Success(),
    "POST /rules/new": Success(303, body=lambda _w: WATCH_FORM | {"name": "watch"}),
    "GET /rules/{name}": Success(params=_rule), "POST /rules/{name}": Success(303, params=_rule, body=lambda _w: WATCH_FORM),
    "GET /rules/{name}/backtest": Success(params=_rule, query={"since": "1d"}),
    "POST /rules/{name}/backtest": Success(200, params=_rule, body=lambda _w: WATCH_FORM | {"since": "1d"}),
    "GET /hash-banks": Success(),
    "POST /cases/{case_id}/add-to-bank": Success(303, params=_banked, body=lambda w: {"bank_id": str(w.ids["bank"])}),
    # NCMEC CyberTipline (child-safety staff)
    "GET /ncmec": Success(),
    "GET /cases/{case_id}/ncmec": Success(params=_child_safety_case),
    "POST /cases/{case_id}/ncmec/build": Success(303, params=_child_safety_case),
    "POST /cases/{case_id}/ncmec/submit": Success(303, params=_ncmec_draft),
    "POST /cases/{case_id}/ncmec/retract": Success(303, params=lambda w: _ncmec_draft(w, state="failed", report_id=1)),
    # text banks (admins)
    "GET /api/v1/text-banks": Success(), "POST /api/v1/text-banks": Success(body=NEW_TEXT_BANK),
    "GET /api/v1/text-banks/{name}": Success(params=_text_bank),
    "PATCH /api/v1/text-banks/{name}": Success(params=_text_bank, body=lambda _w: {"active": False}),
    "POST /api/v1/text-banks/{name}/entries": Success(params=_text_bank, body=lambda _w: {"entries": [{"value": "usdt"}]}),
    "DELETE /api/v1/text-banks/{name}/entries": Success(params=_text_bank, query={"value": "bitcoin"}),
    # legal holds (legal and child-safety staff)
    "POST /api/v1/holds": Success(body=lambda _w: {"app": "dating", "subject_external_ids": ["post-1"], "basis": "manual",
                                                   "reason": "counsel", "review_on": "2099-01-01"}),
    "GET /api/v1/holds": Success(query={"status": "standing"}),
    "GET /api/v1/holds/{hold_id}": Success(params=_hold),
    "POST /api/v1/holds/{hold_id}/extend": Success(params=_hold, body=lambda _w: {"reason": "renewed request"}),
    "POST /api/v1/holds/{hold_id}/release": Success(params=_hold, body=lambda _w: {"reason": "request withdrawn"}),
    # law-enforcement requests (legal staff; the host platform files them with legal:write)
    "POST /api/v1/law-enforcement-requests": Success(body=lambda _w: LE_FILING),
    "GET /api/v1/law-enforcement-requests": Success(query={"status": "received"}),
    "GET /api/v1/law-enforcement-requests/{request_id}": Success(params=_le_filed),
    "GET /law-enforcement-requests": Success(),
    "POST /law-enforcement-requests": Success(303, body=lambda _w: {
        "app": "dating", "agency": "County Sheriff", "officer_name": "Det. Ana Ruiz", "officer_email": "aruiz@sheriff.example",
        "instrument": "search_warrant", "reference": "W-9", "subjects": "post-1", "due_at": "2027-01-31T17:00"}),
    "GET /law-enforcement-requests/{request_id}": Success(params=_le_request),
    "POST /law-enforcement-requests/{request_id}/review/start": Success(303, params=_le_request),
    "POST /law-enforcement-requests/{request_id}/review": Success(303, params=lambda w: _le_request(w, "review"),
                                                                  body=lambda _w: {"outcome": "reject", "reasons": "overbroad"}),
    "POST /law-enforcement-requests/{request_id}/disclose": Success(200, params=lambda w: _le_request(w, "review", "approve"),
                                                                    body=lambda _w: {"reason": "served on the sheriff"}),
    "POST /law-enforcement-requests/{request_id}/close": Success(303, params=_le_request, body=lambda _w: {"reason": "withdrawn"}),
    # privacy requests (privacy staff)
    "GET /privacy-requests": Success(),
    "POST /privacy-requests": Success(303, body=lambda _w: {"app": "dating", "subject": "acc-1", "regime": "gdpr", "request_type": "access",
                                                            "requester_name": "Ana", "requester_contact": "ana@example.org",
                                                            "received_on": "2026-01-05"}),
    "GET /privacy-requests/{request_id}": Success(params=_privacy_request),
    "POST /privacy-requests/{request_id}/verify": Success(303, params=_privacy_request, body=lambda _w: {"outcome": "verified", "note": "signed in"}),
    "POST /privacy-requests/{request_id}/extend": Success(303, params=_privacy_request, body=lambda _w: {"reason": "many accounts"}),
    "POST /privacy-requests/{request_id}/export": Success(200, params=_verified_request),
    "POST /privacy-requests/{request_id}/complete": Success(303, params=_verified_request, body=lambda _w: {"answer": "your data is attached"}),
    "POST /privacy-requests/{request_id}/refuse": Success(303, params=_privacy_request, body=lambda _w: {"answer": "identity not proven"}),
    "POST /privacy-requests/{request_id}/confirm-receipt": Success(303, params=_ccpa_request, body=lambda _w: {"how": "email"}),
    "POST /privacy-requests/{request_id}/lift": Success(303, params=_answered_restriction, body=lambda _w: {"reason": "accuracy checked"}),
    "GET /holds": Success(),
    "POST /holds": Success(303, body=lambda _w: {"app": "dating", "subjects": "post-1", "basis": "manual", "reason": "counsel",
                                                 "review_on": "2099-01-01"}),
    "GET /holds/{hold_id}": Success(params=_hold),
    "POST /holds/{hold_id}/extend": Success(303, params=_hold, body=lambda _w: {"reason": "renewed request"}),
    "POST /holds/{hold_id}/release": Success(303, params=_hold, body=lambda _w: {"reason": "request withdrawn"}),
    "POST /holds/{hold_id}/transfer": Success(303, params=_hold, body=lambda _w: {"recipient": "County Sheriff", "reason": "warrant 44-B"}),
    "POST /holds/{hold_id}/items/{item_id}": Success(200, params=_hold, body=lambda _w: {"reason": "checking the wording"}),
    "POST /holds/{hold_id}/export": Success(200, params=_hold, body=lambda _w: {"reason": "warrant 44-B"}),
    "GET /text-banks": Success(), "POST /text-banks": Success(303, body=NEW_TEXT_BANK),
    "GET /text-banks/{name}": Success(params=_text_bank),
    "POST /text-banks/{name}/entries": Success(303, params=_text_bank, body=lambda _w: {"lines": "usdt"}),
    "POST /text-banks/{name}/remove": Success(303, params=_text_bank, body=lambda _w: {"value": "bitcoin"}),
    # the DSA transparency report (analysts, legal, admins)
    "GET /api/v1/transparency-report": Success(query={"since": "2026-01-01"}),
    "PUT /api/v1/active-recipients/{month}": Success(params=lambda _w: {"month": "2026-07"}, body=lambda _w: {"count": 1200}),
    "GET /transparency": Success(query={"since": "2026-01-01"}), "GET /transparency.csv": Success(query={"since": "2026-01-01"}),
}


def test_every_route_says_how_it_succeeds() -> None:
    assert sorted({str(e) for e in ENDPOINTS} - SUCCESS.keys()) == [], "add the route's success case to SUCCESS"
    assert sorted(SUCCESS.keys() - {str(e) for e in ENDPOINTS}) == [], "SUCCESS names a route that is gone"
    for endpoint in ENDPOINTS:
        success = SUCCESS[str(endpoint)]
        if endpoint.is_api:  # the status is the documented one, never a second opinion
            assert success.status is None, f"{endpoint}: the API answers its documented status"
        elif endpoint.method not in SAFE_METHODS:
            assert success.status in (200, 303), f"{endpoint}: say whether the form answers a page (200) or moves on (303)"


def _admitted(api: Api, endpoint: Endpoint) -> tuple[int | None, dict[str, str]]:
    """A member holding the route's first role (any member for open routes), with the credential
    the route is made for: a personal token for the API, a console session (and CSRF) otherwise."""
    if endpoint.kind != "roles":
        return None, api.auth if endpoint.kind == "scope" else {}
    role = endpoint.arguments[0] if endpoint.arguments else Role.ANALYST.value
    with api.db.session() as session:
        user_id = _new_staff(session, f"caller-{role}", [role]).id
    return user_id, _token_of(api, user_id) if endpoint.is_api else {}


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=str(e)) for e in ENDPOINTS])
def test_an_admitted_caller_gets_the_exact_success_status(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    caller_id, headers = _admitted(api, endpoint)
    with api.db.session() as session:  # the world's case and bulk operation belong to the caller
        owner = caller_id or _new_staff(session, "owner", ["moderator"]).id
    world = _world(api, owner)
    if caller_id is not None and not endpoint.is_api:
        headers = {CSRF_HEADER: _session_for(api, settings, caller_id)}
    success = SUCCESS[str(endpoint)]
    url = endpoint.path.format(**(world.params | success.params(world)))
    body = success.body(world) if success.body else None
    if endpoint.is_api or endpoint.kind == "public" and endpoint.method in SAFE_METHODS:
        response = api.client.request(endpoint.method, url, json=body, files=success.files() if success.files else None,
                                      params=success.query, headers=headers, follow_redirects=False)
    else:
        response = api.client.request(endpoint.method, url, data=body, params=success.query, headers=headers, follow_redirects=False)
    expected = success.status or (endpoint.documented_status or 200)
    assert response.status_code == expected, response.text[:500]
    if expected == 303:
        assert not _is_login_redirect(response)
