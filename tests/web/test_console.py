"""The console shell through HTTP: login, home counts, subject page with audited reveal, logout,
and the operational endpoints (health, metrics, the bare 500)."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.store.models import AuditEvent, LoginThrottle, Subject
from trustdesk.web.app import create_app
from trustdesk.web.console import views as console_views
from trustdesk.web.permissions import SESSION_COOKIE, public

PASSWORD = "long enough password"
EMAIL = "acc-1@example.org"


def _file_reports(api: Api) -> None:
    """Three subjects; two open SPAM reports and one open SCAM report."""
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account", "country": "DE", "personal": {"email": EMAIL}},
        {"external_id": "acc-2", "kind": "account"},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc-1", "text": "Buy followers now"},
    ]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "r1", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
        {"external_id": "r2", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "user", "reporter_external_id": "acc-2"},
        {"external_id": "r3", "subject_external_id": "acc-1", "policy_code": "SCAM", "reporter_type": "trusted_flagger", "text": "asks for gift cards"},
    ]})
    assert r.status_code == 200, r.text


def _create_staff(api: Api, settings: Settings) -> None:
    with api.db.session() as session:
        staff.create_user(session, Actor("test", "setup"), settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia Moderator")


def _log_in(api: Api) -> httpx.Response:
    return api.log_in("mia", PASSWORD)


def _testid(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert found, f"no data-testid={name!r} in the page"
    return found.group(1)


def _open_by_policy(html: str) -> dict[str, int]:
    rows = re.findall(r'<tr data-policy="(\w+)">.*?<td class="num">(\d+)</td></tr>', html)
    return {code: int(count) for code, count in rows}


def _csrf(html: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert found, "the page carries no CSRF token for htmx"
    return found.group(1)


@pytest.fixture
def console(api: Api, settings: Settings) -> Api:
    """The api fixture with reports filed and a moderator logged in."""
    _file_reports(api)
    _create_staff(api, settings)
    assert _log_in(api).status_code == 303
    return api


def test_login_page_renders(api: Api) -> None:
    r = api.client.get("/login?next=/subjects/1")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert '<form method="post" action="/login">' in r.text
    assert 'name="next" value="/subjects/1"' in r.text


def test_login_sets_an_httponly_session_cookie_and_redirects(api: Api, settings: Settings) -> None:
    _create_staff(api, settings)
    r = api.log_in("mia", PASSWORD, next="/subjects/7")
    assert r.status_code == 303 and r.headers["location"] == "/subjects/7"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert api.client.get("/", follow_redirects=False).status_code == 200


def test_failed_login_is_401_and_sets_no_cookie(api: Api, settings: Settings) -> None:
    _create_staff(api, settings)
    r = api.log_in("mia", "not the password")
    assert r.status_code == 401 and "Wrong username or password." in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_login_will_not_redirect_off_site(api: Api, settings: Settings) -> None:
    _create_staff(api, settings)
    r = api.log_in("mia", PASSWORD, next="//evil.example/")
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_home_shows_open_reports_by_policy_and_subjects(console: Api) -> None:
    r = console.client.get("/")
    assert r.status_code == 200 and "Mia Moderator" in r.text
    assert _testid(r.text, "open-total") == "3"
    assert _open_by_policy(r.text) == {"SPAM": 2, "SCAM": 1}
    assert _testid(r.text, "subjects-total") == "3"
    assert 'hx-get="/home/counts"' in r.text


def test_counts_partial_is_a_fragment_with_fresh_numbers(console: Api) -> None:
    r = console.post("/api/v1/reports", {"external_id": "r4", "subject_external_id": "acc-2", "policy_code": "HARASSMENT", "reporter_type": "anonymous"})
    assert r.status_code == 201
    partial = console.client.get("/home/counts")
    assert partial.status_code == 200 and "<html" not in partial.text
    assert _testid(partial.text, "open-total") == "4"
    assert _open_by_policy(partial.text) == {"SPAM": 2, "SCAM": 1, "HARASSMENT": 1}


def test_subject_page_hides_personal_data_until_an_audited_reveal(console: Api) -> None:
    with console.db.reader() as session:
        account_id = session.execute(select(Subject.id).where(Subject.external_id == "acc-1")).scalar_one()
    page = console.client.get(f"/subjects/{account_id}")
    assert page.status_code == 200
    assert "acc-1" in page.text and "SCAM" in page.text and "asks for gift cards" in page.text
    assert EMAIL not in page.text and "Personal data (email) is hidden." in page.text

    headers = {"X-CSRF-Token": _csrf(page.text)}
    assert console.client.post(f"/subjects/{account_id}/reveal", data={"reason": ""}, headers=headers).status_code == 422
    revealed = console.client.post(f"/subjects/{account_id}/reveal", data={"reason": "checking a scam report"}, headers=headers)
    assert revealed.status_code == 200 and EMAIL in revealed.text

    with console.db.reader() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.verb == "subject.personal_revealed")).scalars().all()
    assert [(e.actor_id, e.object_id, e.after) for e in events] == [
        ("mia", str(account_id), {"fields": ["email"], "reason": "checking a scam report"})
    ]
    assert EMAIL not in console.client.get(f"/subjects/{account_id}").text


def test_unknown_subject_is_404(console: Api) -> None:
    assert console.client.get("/subjects/999999").status_code == 404


def test_logout_ends_the_session_on_the_server(console: Api) -> None:
    token = console.client.cookies[SESSION_COOKIE]
    home = console.client.get("/")
    r = console.client.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    console.client.cookies.set(SESSION_COOKIE, token)
    after = console.client.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_healthz(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def _sample(metrics: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.M)
    assert found, f"no {series} in /metrics"
    return float(found.group(1))


def test_metrics_count_requests_and_intake(console: Api) -> None:
    reports = 'trustdesk_intake_items_total{kind="report",status="created"}'
    before = _sample(console.client.get("/metrics").text, reports)
    r = console.post("/api/v1/reports", {"external_id": "r4", "subject_external_id": "acc-2", "policy_code": "SPAM", "reporter_type": "anonymous"})
    assert r.status_code == 201
    after = console.client.get("/metrics").text
    assert _sample(after, reports) == before + 1
    assert re.search(r'^trustdesk_http_requests_total\{method="GET",route="/metrics",status="200"\} \d', after, re.M)
    assert re.search(r'^trustdesk_http_requests_total\{method="POST",route="/api/v1/reports",status="201"\} \d', after, re.M)


def test_an_unexpected_error_on_the_api_is_a_bare_json_500(api: Api) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals at /srv/trustdesk")

    api.client.app.add_api_route("/api/test-only/explode", explode, dependencies=[Depends(public())])  # type: ignore[attr-defined]
    r = api.client.get("/api/test-only/explode")
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "internal error; it has been logged"}
    assert "secret internals" not in r.text and "Traceback" not in r.text


# --- login hardening ----------------------------------------------------------------------


def test_a_login_post_without_the_forms_csrf_token_is_refused(api: Api, settings: Settings) -> None:
    """Login CSRF: another site cannot sign a browser into an account of its choosing."""
    _create_staff(api, settings)
    forged = api.client.post("/login", data={"username": "mia", "password": PASSWORD}, follow_redirects=False)
    assert forged.status_code == 403 and "log in again here" in forged.text
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    api.client.get("/login")  # the browser has the cookie, but the other site cannot read its value
    wrong = api.client.post("/login", data={"username": "mia", "password": PASSWORD, "csrf_token": "guessed"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert api.log_in("mia", PASSWORD).status_code == 303


def _locked_page(api: Api, username: str) -> httpx.Response:
    for _ in range(5):
        api.log_in(username, "not the password at all")
    return api.log_in(username, "not the password at all")


def test_the_locked_message_is_the_same_for_a_real_and_an_unknown_username(api: Api, settings: Settings) -> None:
    _create_staff(api, settings)
    real, unknown = _locked_page(api, "mia"), _locked_page(api, "no-such-user")
    assert real.status_code == unknown.status_code == 429
    assert real.headers["retry-after"] == unknown.headers["retry-after"] == str(settings.login_lockout_seconds)
    message = re.compile(r'<p class="error" role="alert">([^<]*)</p>')
    assert message.search(real.text).group(1) == message.search(unknown.text).group(1)
    assert "Try again in 15 minutes" in real.text and "account" not in message.search(real.text).group(1)


def _attempts_until_refused(client: TestClient, forwarded: bool) -> list[int]:
    statuses = []
    for i in range(4):
        form = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        headers = {"X-Forwarded-For": f"203.0.113.{i}"} if forwarded else {}
        statuses.append(client.post("/login", data={"username": "x", "password": "y", "csrf_token": csrf}, headers=headers).status_code)
    return statuses


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console_views, "LOGIN_ATTEMPTS_PER_MINUTE", 2)
    # Not configured: a client rotating the header is still one address.
    assert _attempts_until_refused(api.client, forwarded=True) == [401, 401, 429, 429]
    proxied = create_app(replace(settings, trusted_proxies=("10.0.0.0/24",)), api.db)
    with TestClient(proxied, client=("10.0.0.5", 40000)) as behind_proxy:
        assert _attempts_until_refused(behind_proxy, forwarded=True) == [401, 401, 401, 401]  # four real clients
    with TestClient(proxied, client=("192.0.2.9", 40000)) as direct:  # not the proxy: its header is ignored
        assert _attempts_until_refused(direct, forwarded=True) == [401, 401, 429, 429]
    with api.db.reader() as session:
        addresses = set(session.execute(select(LoginThrottle.address)).scalars())
    assert {"testclient", "192.0.2.9", "203.0.113.0", "203.0.113.3"} <= addresses and "10.0.0.5" not in addresses
