"""Every route of the app declares exactly one permission, and refuses everybody it should.

The route table is read from a real `create_app(...)` at collection time, so each route is its
own test case and a new route is covered without touching this file.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session

from tests.conftest import TEST_SECRET, Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_client, create_staff_token
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role, Scope
from trustdesk.store.database import Database
from trustdesk.store.models import App, StaffUser
from trustdesk.web.app import create_app
from trustdesk.web.permissions import CSRF_HEADER, SESSION_COOKIE

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SETUP = Actor("test", "setup")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permissions: tuple[tuple[str, ...], ...]

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
                yield Endpoint(method, route.path, found)


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


def _new_staff(session: Session, settings: Settings, role: Role, how: str) -> StaffUser:
    return staff.create_user(session, SETUP, settings, username=f"{how}-{role.value}", password="long enough password", roles=[role])


def _log_in(api: Api, settings: Settings, role: Role) -> str:
    """Give the test client a staff session holding `role`; returns the CSRF token."""
    with api.db.session() as session:
        token = staff.open_session(session, settings, _new_staff(session, settings, role, "cookie"))
    with api.db.reader() as session:
        found = staff.resolve_session(session, token)
        assert found is not None
        csrf = found.csrf_token
    api.client.cookies.set(SESSION_COOKIE, token)
    return csrf


def _personal_token(api: Api, settings: Settings, role: Role) -> dict[str, str]:
    """Headers carrying a staff member's personal API token, which needs no CSRF token."""
    with api.db.session() as session:
        _client, token = create_staff_token(session, SETUP, _new_staff(session, settings, role, "token"), "script")
    return {"Authorization": f"Bearer {token}"}


def _token_without(api: Api, scope: str) -> str:
    with api.db.session() as session:
        app = session.get(App, api.app_id)
        assert app is not None
        _client, token = create_client(session, SETUP, app, "narrow", [s for s in Scope if s.value != scope])
    return token


def test_the_walk_sees_the_api_the_console_and_operations() -> None:
    paths = {e.path for e in ENDPOINTS}
    assert {"/healthz", "/metrics", "/login", "/", "/api/v1/reports", "/api/v1/subjects/{external_id}"} <= paths
    assert {e.kind for e in ENDPOINTS} == {"public", "scope", "roles"}


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=str(e)) for e in ENDPOINTS])
def test_route_declares_exactly_one_permission(endpoint: Endpoint) -> None:
    assert len(endpoint.permissions) == 1, f"{endpoint} declares {endpoint.permissions or 'no permission'}"
    assert endpoint.kind in {"public", "scope", "roles"}


@pytest.mark.parametrize("endpoint", _of("public"))
def test_public_route_needs_nobody(api: Api, endpoint: Endpoint) -> None:
    response = _call(api, endpoint)
    assert response.status_code not in (401, 403) and not _is_login_redirect(response), response.text


@pytest.mark.parametrize("endpoint", _of("scope"))
def test_scoped_route_refuses_missing_and_narrow_tokens(api: Api, endpoint: Endpoint) -> None:
    assert _call(api, endpoint).status_code == 401
    assert _call(api, endpoint, {"Authorization": "Bearer td_nope_nope"}).status_code == 401
    narrow = _call(api, endpoint, {"Authorization": f"Bearer {_token_without(api, endpoint.arguments[0])}"})
    assert narrow.status_code == 403 and endpoint.arguments[0] in narrow.json()["detail"]
    assert _call(api, endpoint, api.auth).status_code not in (401, 403)


@pytest.mark.parametrize("endpoint", _of("scope"))
def test_scoped_route_refuses_a_staff_token(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    assert _call(api, endpoint, _personal_token(api, settings, Role.ADMIN)).status_code == 403


@pytest.mark.parametrize("endpoint", _of("roles"))
def test_staff_route_sends_anonymous_visitors_to_login(api: Api, endpoint: Endpoint) -> None:
    response = _call(api, endpoint)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    stale = _call(api, endpoint, {"Cookie": f"{SESSION_COOKIE}=not-a-session"})
    assert _is_login_redirect(stale)


@pytest.mark.parametrize("endpoint", _of("roles"))
def test_staff_route_refuses_tokens_that_are_not_a_staff_members(api: Api, endpoint: Endpoint) -> None:
    assert _call(api, endpoint, {"Authorization": "Bearer td_nope_nope"}).status_code == 401
    assert _call(api, endpoint, api.auth).status_code == 401


@pytest.mark.parametrize("endpoint", _of("roles", with_roles=False))
def test_staff_route_without_roles_admits_any_staff_user(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    csrf = _log_in(api, settings, Role.ANALYST)
    response = _call(api, endpoint, {CSRF_HEADER: csrf})
    assert response.status_code != 403 and not _is_login_redirect(response), response.text


@pytest.mark.parametrize("endpoint", _of("roles", with_roles=True))
def test_staff_route_refuses_other_roles(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    outsiders = [role for role in Role if role.value not in endpoint.arguments]
    assert outsiders, f"{endpoint} lists every role; it should list none"
    csrf = _log_in(api, settings, outsiders[0])
    refused = _call(api, endpoint, {CSRF_HEADER: csrf})
    assert refused.status_code == 403 and "roles" in refused.json()["detail"]
    assert _call(api, endpoint, _personal_token(api, settings, outsiders[0])).status_code == 403

    insider = Role(endpoint.arguments[0])
    csrf = _log_in(api, settings, insider)
    for admitted in (_call(api, endpoint, {CSRF_HEADER: csrf}), _call(api, endpoint, _personal_token(api, settings, insider))):
        assert admitted.status_code != 403 and not _is_login_redirect(admitted), admitted.text


@pytest.mark.parametrize("endpoint", _of("roles", writes=True))
def test_staff_write_needs_the_csrf_token(api: Api, settings: Settings, endpoint: Endpoint) -> None:
    csrf = _log_in(api, settings, Role(endpoint.arguments[0]) if endpoint.arguments else Role.ANALYST)
    for wrong in ({}, {CSRF_HEADER: "not-the-token"}):
        refused = _call(api, endpoint, wrong)
        assert refused.status_code == 403 and refused.json()["field"] == "csrf_token"
    allowed = _call(api, endpoint, {CSRF_HEADER: csrf})
    assert allowed.status_code != 403, allowed.text
