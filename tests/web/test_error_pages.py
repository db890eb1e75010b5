"""Console failures are pages for people; the same failures under /api/v1 stay JSON.

Each console error page keeps the status code, runs under the strict Content-Security-Policy,
says what went wrong in plain words (naming the field for a 422), offers a way back and shows
no internals. It needs no session: an anonymous visitor gets it too, without the navigation.
Routes that only fail on purpose (a conflict, a server error) are added to the app here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Api
from tests.web.refusals import field_of
from tests.web.test_keep_alive import connection
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict
from trustdesk.domain.vocabulary import Role
from trustdesk.store.models import StaffUser
from trustdesk.web.app import create_app
from trustdesk.web.console import views as console_views
from trustdesk.web.permissions import public, staff_with
from trustdesk.web.security_headers import CONSOLE_CSP

PASSWORD = "long enough password"
SECRET_INTERNALS = "secret internals at /srv/trustdesk"
SETUP = Actor("test", "setup")


def _failing_routes() -> APIRouter:
    """A conflict and a server error, on a console path and on an API path each."""
    router = APIRouter()

    def conflict() -> None:
        raise Conflict("version", "someone published version 3 meanwhile")

    def explode() -> None:
        raise RuntimeError(SECRET_INTERNALS)

    for prefix in ("", "/api/v1"):
        router.add_api_route(f"{prefix}/test-only/conflict", conflict, dependencies=[Depends(staff_with())])
        router.add_api_route(f"{prefix}/test-only/explode", explode, dependencies=[Depends(public())])
    return router


@pytest.fixture
def site(api: Api, settings: Settings) -> Iterator[Api]:
    """The api fixture with a moderator and a senior, and the failing routes added to its app."""
    with api.db.session() as session:
        staff.create_user(session, SETUP, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia")
        staff.create_user(session, SETUP, settings, username="sue", password=PASSWORD, roles=[Role.SENIOR], display_name="Sue")
    api.client.app.include_router(_failing_routes())  # type: ignore[attr-defined]
    yield api


def _staff_token(api: Api, username: str) -> dict[str, str]:
    with api.db.session() as session:
        user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one()
        token = api_clients.create_staff_token(session, SETUP, user, "tests")[1]
    return {"Authorization": f"Bearer {token}"}


def _page(response: httpx.Response, status: int, title: str) -> str:
    """Assert `response` is the console's error page for `status`; its text."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    text = response.text
    assert f"<h1>{title}</h1>" in text and f"Error {status}" in text
    assert "Traceback" not in text and SECRET_INTERNALS not in text and "<script>" not in text
    return text


def _signed_in(text: str) -> bool:
    """Whether the page has the logged-in navigation and a way back into the console."""
    return 'action="/logout"' in text and '<a href="/queues">Queues</a>' in text


def _anonymous(text: str) -> bool:
    return 'action="/logout"' not in text and '<a href="/login">Log in</a>' in text


# --- logged in ----------------------------------------------------------------------------------


def test_a_logged_in_person_gets_pages_with_the_status_kept_and_a_way_back(site: Api) -> None:
    assert site.log_in("mia", PASSWORD).status_code == 303
    get = site.client.get

    not_found = _page(get("/cases/987654"), 404, "Not found")
    assert _signed_in(not_found) and field_of(get("/cases/987654")) == "case_id"
    assert _signed_in(_page(get("/no-such-page"), 404, "Not found"))

    forbidden = get("/staff")
    assert _signed_in(_page(forbidden, 403, "Not allowed")) and field_of(forbidden) == "roles"

    wrong_method = site.client.delete("/queues")
    assert _signed_in(_page(wrong_method, 405, "Not available this way")) and "GET" in wrong_method.headers["allow"]

    changed = get("/test-only/conflict")
    text = _page(changed, 409, "Changed meanwhile")
    assert _signed_in(text) and field_of(changed) == "version" and "someone published version 3 meanwhile" in text


@pytest.mark.parametrize(("path", "message"), [("/cases/abc", "valid integer"), (f"/cases/{2**63}", "less than or equal to")])
def test_a_bad_address_is_a_422_page_naming_the_field(site: Api, path: str, message: str) -> None:
    assert site.log_in("mia", PASSWORD).status_code == 303
    response = site.client.get(path)
    text = _page(response, 422, "Something you sent cannot be used")
    assert field_of(response) == "case_id" and message in text and _signed_in(text)


def test_the_way_back_is_the_console_page_the_person_came_from(site: Api) -> None:
    assert site.log_in("mia", PASSWORD).status_code == 303
    came_from = site.client.get("/cases/987654", headers={"Referer": "http://testserver/queues?notice=saved"})
    assert '<a href="/queues?notice=saved">Back to the page you came from</a>' in came_from.text
    elsewhere = site.client.get("/cases/987654", headers={"Referer": "https://evil.example/queues"})
    assert "Back to the page you came from" not in elsewhere.text and "evil.example" not in elsewhere.text


def test_a_refused_form_post_is_a_page_for_people(site: Api) -> None:
    assert site.log_in("sue", PASSWORD).status_code == 303
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', site.client.get("/").text).group(1)
    response = site.client.post("/cases/987654/assign", data={"csrf_token": csrf})
    assert field_of(response) == "case_id" and _signed_in(_page(response, 404, "Not found"))
    forged = site.client.post("/cases/987654/assign", data={"csrf_token": "forged"})
    assert field_of(forged) == "csrf_token" and "reload the page" in _page(forged, 403, "Not allowed")


def test_a_server_error_in_the_console_is_a_page_that_reads_nothing(site: Api) -> None:
    assert site.log_in("mia", PASSWORD).status_code == 303
    text = _page(site.client.get("/test-only/explode"), 500, "Something went wrong on our side")
    # The database may be what failed: the page does not look up who is logged in.
    assert _anonymous(text) and "It has been logged" in text


# --- anonymous ----------------------------------------------------------------------------------


def test_an_anonymous_visitor_gets_pages_without_a_session(site: Api) -> None:
    get = site.client.get
    assert _anonymous(_page(get("/no-such-page"), 404, "Not found"))
    assert _anonymous(_page(site.client.put("/login"), 405, "Not available this way"))
    missing = site.client.post("/login", data={"password": "x"})
    assert field_of(missing) == "username" and _anonymous(_page(missing, 422, "Something you sent cannot be used"))
    bad_token = get("/queues", headers={"Authorization": "Bearer td_nope_nope"})
    assert _anonymous(_page(bad_token, 401, "Not signed in")) and bad_token.headers["www-authenticate"] == "Bearer"
    assert _anonymous(_page(get("/test-only/explode"), 500, "Something went wrong on our side"))


def test_a_login_required_page_still_redirects(site: Api) -> None:
    response = site.client.get("/cases/abc", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/cases/abc"


def test_too_many_login_attempts_is_the_login_page_with_429(site: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_views, "LOGIN_ATTEMPTS_PER_MINUTE", 0)
    response = site.log_in("mia", PASSWORD)
    assert response.status_code == 429 and response.headers["retry-after"] == "60"
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert "Too many login attempts" in response.text and 'name="username" value="mia"' in response.text


def test_a_body_over_the_limit_is_a_413_page_in_the_console_and_json_in_the_api(site: Api, settings: Settings) -> None:
    small = create_app(replace(settings, max_body_bytes=100), site.db)
    with TestClient(small) as client:
        page = client.post("/login", data={"username": "x" * 200, "password": "y"})
        assert field_of(page) == "body" and _anonymous(_page(page, 413, "Too large"))
        api = client.post("/api/v1/subjects", json={"external_id": "x" * 200, "kind": "account"}, headers=site.auth)
        assert api.status_code == 413 and api.json() == {"detail": "body: larger than 100 bytes", "field": "body"}


# --- the API keeps JSON -------------------------------------------------------------------------


def test_the_same_failures_under_the_api_stay_json(site: Api) -> None:
    moderator = _staff_token(site, "mia")
    answers = {
        404: site.client.get("/api/v1/cases/987654", headers=moderator),
        403: site.client.post("/api/v1/queues", json={}, headers=moderator),
        405: site.client.delete("/api/v1/queues", headers=moderator),
        409: site.client.get("/api/v1/test-only/conflict", headers=moderator),
        422: site.client.get("/api/v1/cases/abc", headers=moderator),
        401: site.client.get("/api/v1/cases/1", headers={"Authorization": "Bearer td_nope_nope"}),
    }
    for status, response in answers.items():
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) >= {"detail", "field"}
    assert (answers[404].json()["field"], answers[409].json()["field"], answers[422].json()["field"]) == ("case_id", "version", "case_id")
    assert answers[401].headers["www-authenticate"] == "Bearer"
    failed = site.client.get("/api/v1/test-only/explode")
    assert failed.status_code == 500 and failed.json() == {"detail": "internal error; it has been logged"}
    assert "content-security-policy" not in failed.headers and failed.headers["x-content-type-options"] == "nosniff"


# --- keep-alive ---------------------------------------------------------------------------------


def test_a_console_server_error_is_a_page_and_the_connection_lives_on(tmp_path: Path) -> None:
    with connection(tmp_path) as conn:
        for _ in range(5):
            status, body = conn.request("GET", "/test-only/fail")
            assert status == 500 and b"Something went wrong on our side" in body and b"fails on purpose" not in body
            status, body = conn.request("GET", "/healthz")
            assert (status, orjson.loads(body)) == (200, {"status": "ok"})
