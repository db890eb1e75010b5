"""Endpoints and dead letters through the API, the console and the command line; delivery
state on the case and action pages. Admins only, CSRF on the console, audited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.conftest import Api
from tests.delivery.conftest import Receiver
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.cli import app as cli
from trustdesk.config import Settings
from trustdesk.delivery.sender import deliver_due
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.vocabulary import Role
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.store.models import AuditEvent, Case, OutboxMessage, StaffUser, WebhookEndpoint, utcnow
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")


def _token(api: Api, settings: Settings, username: str, role: Role) -> dict[str, str]:
    with api.db.session() as s:
        user = staff.create_user(s, SETUP, settings, username=username, password="long enough password", roles=[role], with_totp=False)
        _client, token = api_clients.create_staff_token(s, SETUP, user, "script")
    return {"Authorization": f"Bearer {token}"}


def _sign_in(api: Api, settings: Settings, username: str) -> str:
    with api.db.session() as s:
        user = s.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one()
        api.client.cookies.set(SESSION_COOKIE, staff.open_session(s, settings, user))
    page = api.client.get("/webhooks")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _decide(api: Api, external_id: str, actions: list[str]) -> int:
    """A reported account and its case, decided with `actions`; returns the case id."""
    with api.db.session() as s:
        seed_queues(s, SETUP)
    assert api.post("/api/v1/subjects", {"external_id": external_id, "kind": "account"}).status_code == 201
    report = {"external_id": f"r-{external_id}", "subject_external_id": external_id, "policy_code": "SCAM", "reporter_type": "anonymous"}
    assert api.post("/api/v1/reports", report).status_code == 201
    with api.db.session() as s:
        case = s.execute(select(Case).order_by(Case.id.desc()).limit(1)).scalar_one()
        decide_subject(s, SETUP, case.subject_id, DecisionRequest("SCAM", verdict="violation", actions=actions, rationale="scam"))
        return case.id


def test_the_api_adds_lists_and_removes_endpoints_for_admins_only(api: Api, settings: Settings) -> None:
    admin, moderator = _token(api, settings, "root", Role.ADMIN), _token(api, settings, "mia", Role.MODERATOR)
    body = {"app": "dating", "url": "http://127.0.0.1:8900/hooks/dating"}
    assert api.client.post("/api/v1/webhooks", json=body, headers=moderator).status_code == 403
    assert api.client.get("/api/v1/webhooks", headers=moderator).status_code == 403
    assert api.client.post("/api/v1/webhooks", json=body, headers=api.auth).status_code == 401  # an app's token is no staff token
    created = api.client.post("/api/v1/webhooks", json=body, headers=admin)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and created.json()["url"] == body["url"] and created.json()["deliveries"] == {}
    listed = api.client.get("/api/v1/webhooks", headers=admin)
    assert listed.status_code == 200 and [e["id"] for e in listed.json()] == [created.json()["id"]]
    assert secret not in listed.text and "secret" not in listed.json()[0]
    with api.db.reader() as s:
        assert secret.removeprefix("whsec_") not in str(s.execute(text("SELECT * FROM webhook_endpoints")).all())

    for url, field in [("http://hooks.example/td", "url"), ("ftp://x.example/", "url"), ("https://u:p@x.example/", "url")]:
        refused = api.client.post("/api/v1/webhooks", json={"app": "dating", "url": url}, headers=admin)
        assert (refused.status_code, refused.json()["field"]) == (422, field), refused.text
    unknown = api.client.post("/api/v1/webhooks", json={"app": "nope", "url": "https://x.example/"}, headers=admin)
    assert (unknown.status_code, unknown.json()["field"]) == (404, "app")

    removed = api.client.delete(f"/api/v1/webhooks/{created.json()['id']}", headers=admin)
    assert removed.status_code == 200 and removed.json() == {"id": created.json()["id"], "cancelled_deliveries": 0}
    again = api.client.delete(f"/api/v1/webhooks/{created.json()['id']}", headers=admin)
    assert (again.status_code, again.json()["field"]) == (409, "endpoint_id")
    assert api.client.get("/api/v1/webhooks", headers=admin).json() == []
    assert len(api.client.get("/api/v1/webhooks?removed=true", headers=admin).json()) == 1
    with api.db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "webhook_endpoint").order_by(AuditEvent.id)).scalars().all()
    assert verbs == ["webhook_endpoint.added", "webhook_endpoint.removed"]


def test_production_takes_only_https(api: Api, settings: Settings) -> None:
    admin = _token(api, settings, "root", Role.ADMIN)
    api.client.app.state.settings = Settings(**{**vars(settings), "env": "production"})
    refused = api.client.post("/api/v1/webhooks", json={"app": "dating", "url": "http://127.0.0.1:8900/hooks/dating"}, headers=admin)
    assert (refused.status_code, refused.json()["field"]) == (422, "url") and "https only" in refused.json()["detail"]
    assert api.client.post("/api/v1/webhooks", json={"app": "dating", "url": "https://hooks.example/"}, headers=admin).status_code == 201


def test_production_refuses_addresses_inside_a_network(api: Api, settings: Settings) -> None:
    admin = _token(api, settings, "root", Role.ADMIN)
    api.client.app.state.settings = Settings(**{**vars(settings), "env": "production"})
    for url in ("https://169.254.169.254/latest/meta-data/", "https://127.0.0.1:6443/api", "https://10.0.0.5/",
                "https://[::ffff:169.254.169.254]/"):
        refused = api.client.post("/api/v1/webhooks", json={"app": "dating", "url": url}, headers=admin)
        assert (refused.status_code, refused.json()["field"]) == (422, "url"), (url, refused.text)
        assert "inside a network" in refused.json()["detail"]
    with api.db.reader() as s:
        assert s.execute(select(WebhookEndpoint)).first() is None


def test_a_url_the_sender_could_not_post_to_is_refused_naming_the_field(api: Api, settings: Settings) -> None:
    admin = _token(api, settings, "root", Role.ADMIN)
    for url in ("https://xn--a.example/", "https://\u01c5.example/hook", "https://[::1/hook"):
        refused = api.client.post("/api/v1/webhooks", json={"app": "dating", "url": url}, headers=admin)
        assert (refused.status_code, refused.json()["field"]) == (422, "url"), (url, refused.text)
    with api.db.reader() as s:
        assert s.execute(select(WebhookEndpoint)).first() is None


def _dead_delivery(api: Api, settings: Settings, receiver: Receiver, admin: dict[str, str]) -> tuple[int, int]:
    """An endpoint whose receiver refuses everything, a decision, and its action's delivery dead
    after a day (the user's notice, handed over behind it, dies too)."""
    created = api.client.post("/api/v1/webhooks", json={"app": "dating", "url": receiver.hook("dating")}, headers=admin).json()
    receiver.register("dating", created["secret"])
    receiver.control("fail", endpoint="dating", status=500, seconds=600)
    case_id = _decide(api, "u1", ["ban"])
    box = SecretBox(settings.secret_key)
    deliver_due(api.db, box)
    deliver_due(api.db, box, now=lambda: utcnow() + timedelta(hours=25))
    with api.db.reader() as s:
        [row] = s.execute(select(OutboxMessage).where(OutboxMessage.action_id.is_not(None))).scalars().all()
    assert row.state == "dead"
    return case_id, row.id


def test_the_dead_letter_list_retries_and_cancels_through_the_api(api: Api, settings: Settings, receiver: Receiver) -> None:
    admin = _token(api, settings, "root", Role.ADMIN)
    _case, delivery_id = _dead_delivery(api, settings, receiver, admin)
    dead = api.client.get("/api/v1/webhooks/deliveries?state=dead", headers=admin)
    assert dead.status_code == 200
    assert [(d["id"], d["attempts"], d["last_status"]) for d in dead.json() if d["action_id"]] == [(delivery_id, 2, 500)]
    assert [d["event_type"] for d in dead.json() if not d["action_id"]] == ["notice.requested"]
    assert dead.json()[-1]["subject_external_id"] == "u1" and dead.json()[-1]["event_type"] == "action.applied"
    bad_state = api.client.get("/api/v1/webhooks/deliveries?state=lost", headers=admin)
    assert (bad_state.status_code, bad_state.json()["field"]) == (422, "state")
    receiver.control("recover", endpoint="dating")
    retried = api.client.post(f"/api/v1/webhooks/deliveries/{delivery_id}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    assert api.client.post(f"/api/v1/webhooks/deliveries/{delivery_id}/retry", headers=admin).status_code == 409
    deliver_due(api.db, SecretBox(settings.secret_key))
    assert receiver.events("dating")["accepted"] == 1
    cancelled = api.client.post(f"/api/v1/webhooks/deliveries/{delivery_id}/cancel", headers=admin)
    assert (cancelled.status_code, cancelled.json()["field"]) == (409, "delivery_id")  # delivered: nothing to cancel
    assert api.client.post("/api/v1/webhooks/deliveries/999/cancel", headers=admin).status_code == 404


def test_the_console_page_adds_with_the_secret_once_and_works_the_dead_letters(
    api: Api, settings: Settings, receiver: Receiver
) -> None:
    admin = _token(api, settings, "root", Role.ADMIN)
    case_id, delivery_id = _dead_delivery(api, settings, receiver, admin)
    _token(api, settings, "mia", Role.MODERATOR)
    csrf = _sign_in(api, settings, "root")
    page = api.client.get("/webhooks").text
    assert f'data-delivery="{delivery_id}"' in page and "HTTP 500" in page and "whsec_" not in page

    form = {"csrf_token": csrf, "app": "dating", "url": "https://hooks.example/td"}
    assert api.client.post("/webhooks", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403
    added = api.client.post("/webhooks", data=form)
    assert added.status_code == 200 and 'data-testid="secret"' in added.text
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", added.text).group(0)
    assert secret not in api.client.get("/webhooks").text  # shown once
    refused = api.client.post("/webhooks", data=form | {"url": "http://hooks.example/td"})
    assert refused.status_code == 422 and 'data-testid="url-error"' in refused.text and "http://hooks.example/td" in refused.text

    done = api.client.post(f"/webhooks/deliveries/{delivery_id}/cancel", data={"csrf_token": csrf}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/webhooks?notice=cancelled")
    retried = api.client.post(f"/webhooks/deliveries/{delivery_id}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert retried.status_code == 303
    again = api.client.post(f"/webhooks/deliveries/{delivery_id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409 and "only dead or cancelled" in again.text
    with api.db.reader() as s:
        actors = s.execute(select(AuditEvent.actor_id, AuditEvent.verb).where(AuditEvent.object_type == "webhook_delivery")
                           .order_by(AuditEvent.id)).all()
    assert [tuple(a) for a in actors][-2:] == [("root", "webhook_delivery.cancelled"), ("root", "webhook_delivery.retried")]

    case_page = api.client.get(f"/cases/{case_id}").text
    assert re.search(r'data-testid="delivery-summary">pending<', case_page)
    action_id = re.search(r'data-action="(\d+)"', case_page).group(1)
    action_page = api.client.get(f"/actions/{action_id}").text
    assert re.search(r'data-testid="delivery-state">pending<', action_page) and "HTTP 500" in action_page

    api.client.cookies.clear()
    with api.db.session() as s:  # a moderator
        mia = s.execute(select(StaffUser).where(StaffUser.username == "mia")).scalar_one()
        api.client.cookies.set(SESSION_COOKIE, staff.open_session(s, settings, mia))
    assert api.client.get("/webhooks").status_code == 403


def test_the_case_page_says_when_nothing_was_sent(api: Api, settings: Settings) -> None:
    _token(api, settings, "root", Role.ADMIN)
    case_id = _decide(api, "u2", ["warn"])
    _sign_in(api, settings, "root")
    assert re.search(r'data-testid="delivery-summary">not sent<', api.client.get(f"/cases/{case_id}").text)


runner = CliRunner()


def _cli(*args: str) -> Any:
    return runner.invoke(cli, list(args))


def test_the_command_line_adds_lists_and_removes(api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TRUSTDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRUSTDESK_SECRET_KEY", settings.secret_key)
    added = _cli("webhooks", "add", "dating", "http://127.0.0.1:8900/hooks/dating")
    assert added.exit_code == 0, added.output
    secret = re.search(r"whsec_\S+", added.output).group(0)
    listed = _cli("webhooks", "list")
    assert listed.exit_code == 0 and "127.0.0.1:8900" in listed.output and secret not in listed.output
    refused = _cli("webhooks", "add", "dating", "http://hooks.example/")
    assert refused.exit_code == 2 and "url:" in refused.output
    assert _cli("webhooks", "add", "nope", "https://x.example/").exit_code == 2
    with api.db.reader() as s:
        endpoint_id = s.execute(select(WebhookEndpoint.id)).scalar_one()
    assert _cli("webhooks", "remove", str(endpoint_id)).exit_code == 0
    assert _cli("webhooks", "remove", str(endpoint_id)).exit_code == 2
