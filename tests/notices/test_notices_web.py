"""Reading notices: the host platform reads its own app's through the API; staff read a case's
notices on the case page and each one's text on its page, under need-to-know."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.cases.factories import SETUP, reviewer
from tests.conftest import Api
from trustdesk.auth.api_clients import create_client
from trustdesk.cli import app as cli
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Scope
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.organisation import ensure_app
from trustdesk.store.models import App, AuditEvent, Notice, Report, Subject


def _decided(api: Api, policy: str, actions: list[str]) -> tuple[int, int]:
    """A reported post decided under `policy`; returns (the user's notice id, the case id)."""
    with api.db.session() as s:
        seed_queues(s, SETUP)
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account", "locale": "es-ES", "personal": {"email": "acc-1@example.org"}},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc-1", "text": "x"},
    ]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports", {"external_id": "r-1", "subject_external_id": "post-1", "policy_code": policy,
                                     "reporter_type": "trusted_flagger", "dsa": {"notifier_name": "Rosa Quintero"}})
    assert r.status_code == 201, r.text
    with api.db.session() as s:
        post = s.execute(select(Subject).where(Subject.external_id == "post-1")).scalar_one()
        case_id = s.execute(select(Report.case_id).where(Report.external_id == "r-1")).scalar_one()
        decision = decide_subject(s, SETUP, post.id, DecisionRequest(policy, verdict="violation", actions=actions, rationale="seen"))
        notice_id = s.execute(select(Notice.id).where(Notice.decision_id == decision.id, Notice.recipient_role == "user")).scalar_one()
    return notice_id, case_id


def test_the_host_platform_reads_its_own_apps_notices(api: Api) -> None:
    notice_id, _case = _decided(api, "SPAM", ["remove"])
    r = api.client.get(f"/api/v1/notices/{notice_id}", headers=api.auth)
    assert r.status_code == 200, r.text
    read = r.json()
    assert (read["kind"], read["locale"], read["channel"], read["state"]) == ("decision", "es", "webhook", "failed")
    assert read["recipient"] == {"role": "user", "subject_external_id": "acc-1", "report_external_id": None, "requester_ref": None,
                                 "address": None}
    assert read["error"] == "the app has no webhook endpoint to hand the notice to"
    assert "Se ha retirado el contenido." in read["body"] and "Rosa" not in read["body"]
    with api.db.session() as s:
        _client, other = create_client(s, SETUP, ensure_app(s, SETUP, "market", "Market"), "market-backend", list(Scope))
    refused = api.client.get(f"/api/v1/notices/{notice_id}", headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 404 and refused.json()["field"] == "notice_id"


def test_staff_read_a_cases_notices_only_where_they_may_see_the_case(api: Api, settings: Settings) -> None:
    notice_id, case_id = _decided(api, "CHILD_GROOMING", ["remove"])
    with api.db.session() as s:
        moderator = reviewer(s, settings, "mod", ["moderator"])
        specialist = reviewer(s, settings, "cs", ["child-safety"])
    api.open_console(settings, moderator.id)
    assert api.client.get(f"/notices/{notice_id}").status_code == 404
    api.open_console(settings, specialist.id)
    page = api.client.get(f"/notices/{notice_id}")
    assert page.status_code == 200, page.text
    assert "withheld" in page.text and "child-safety policy" in page.text and "subject_external_id" not in page.text
    case = api.client.get(f"/cases/{case_id}")
    assert case.status_code == 200
    assert 'data-testid="case-notices"' in case.text and f'href="/notices/{notice_id}"' in case.text


def test_an_admin_sets_an_apps_notice_channel_on_the_webhooks_page(api: Api, settings: Settings) -> None:
    with api.db.session() as s:
        admin = reviewer(s, settings, "adm", ["admin"])
    csrf = api.open_console(settings, admin.id)
    page = api.client.get("/webhooks")
    assert page.status_code == 200 and 'data-testid="notice-channels"' in page.text
    wrong = api.client.post("/webhooks/notice-channel", data={"app": "dating", "channel": "pigeon"}, headers=csrf)
    assert wrong.status_code == 422 and "one of webhook, smtp" in wrong.text
    moved = api.client.post("/webhooks/notice-channel", data={"app": "dating", "channel": "smtp"}, headers=csrf, follow_redirects=False)
    assert moved.status_code == 303
    with api.db.reader() as s:
        assert s.get_one(App, api.app_id).notice_channel == "smtp"
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "app.notice_channel_set")).scalar_one()
        assert (event.before, event.after) == ({"notice_channel": "webhook"}, {"notice_channel": "smtp"})


def test_the_command_line_sets_an_apps_notice_channel(api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TRUSTDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRUSTDESK_SECRET_KEY", settings.secret_key)
    done = CliRunner().invoke(cli, ["notices", "channel", "dating", "smtp"])
    assert done.exit_code == 0, done.output
    refused = CliRunner().invoke(cli, ["notices", "channel", "dating", "fax"])
    assert refused.exit_code == 2 and "channel:" in refused.output
    assert CliRunner().invoke(cli, ["notices", "channel", "nope", "smtp"]).exit_code == 2
    with api.db.reader() as s:
        assert s.get_one(App, api.app_id).notice_channel == "smtp"
