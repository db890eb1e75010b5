"""Statements of reasons read back: by the app's API client (another app's are not found), and by
staff on the action page and the decided case page, where need-to-know hides a subject's
statement with the subject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_client
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Scope
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.organisation import ensure_app
from trustdesk.store.models import Case, StatementOfReasons, Subject

SETUP = Actor("test", "setup")
PEOPLE = {"sen": ["senior"], "cs-lead": ["senior", "child-safety"]}


@dataclass
class World:
    api: Api
    settings: Settings
    ids: dict[str, int]
    statements: dict[str, StatementOfReasons]  # by subject external id


@pytest.fixture
def world(api: Api, settings: Settings) -> World:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        people = {name: staff.create_user(s, SETUP, settings, username=name, password="long enough password", roles=roles,
                                          with_totp=False).id for name, roles in PEOPLE.items()}
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc", "kind": "account"},
        {"external_id": "photo-cs", "kind": "photo", "account_external_id": "acc"},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc", "text": "buy followers"},
    ]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "r-photo", "subject_external_id": "photo-cs", "policy_code": "CSAM", "reporter_type": "anonymous"},
        {"external_id": "r-post", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
    ]})
    assert r.status_code == 200, r.text
    with api.db.session() as s:
        subjects = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
        cases = {c.subject_id: c.id for c in s.execute(select(Case)).scalars()}
        for ext, policy in (("photo-cs", "CSAM"), ("post-1", "SPAM")):
            decide_subject(s, SETUP, subjects[ext], DecisionRequest(policy, verdict="violation", actions=["remove"], rationale=f"{ext} breaks it"))
    with api.db.reader() as s:
        statements = {s.get_one(Subject, row.subject_id).external_id: row for row in s.execute(select(StatementOfReasons)).scalars()}
    ids = subjects | people | {"photo-case": cases[subjects["photo-cs"]], "post-case": cases[subjects["post-1"]]}
    return World(api, settings, ids, statements)


def _client_headers(api: Api, app_slug: str, scopes: list[Scope]) -> dict[str, str]:
    with api.db.session() as s:
        app = ensure_app(s, SETUP, app_slug, app_slug.title())
        _client, token = create_client(s, SETUP, app, f"{app_slug}-reader", scopes)
    return {"Authorization": f"Bearer {token}"}


def test_the_app_reads_its_statement_through_the_api(world: World) -> None:
    stored = world.statements["post-1"]
    r = world.api.client.get(f"/api/v1/statements/{stored.id}", headers=world.api.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert (body["id"], body["puid"], body["action_id"], body["decision_id"]) == (stored.id, stored.puid, stored.action_id, stored.decision_id)
    assert body["subject"] == {"kind": "post", "external_id": "post-1"}
    assert body["statement"] == stored.body and body["statement"]["decision_facts"] == "post-1 breaks it"


def test_another_apps_statement_is_not_found_and_the_scope_is_needed(world: World) -> None:
    stored = world.statements["post-1"]
    other = _client_headers(world.api, "market", [Scope.SUBJECTS_READ])
    r = world.api.client.get(f"/api/v1/statements/{stored.id}", headers=other)
    assert (r.status_code, r.json()["field"]) == (404, "statement_id")
    assert world.api.client.get(f"/api/v1/statements/{stored.id + 100}", headers=world.api.auth).status_code == 404
    writer = _client_headers(world.api, "dating", [Scope.REPORTS_WRITE])
    assert world.api.client.get(f"/api/v1/statements/{stored.id}", headers=writer).status_code == 403


def test_the_action_page_and_the_decided_case_show_the_statement(world: World) -> None:
    stored = world.statements["post-1"]
    world.api.open_console(world.settings, world.ids["sen"])
    for page in (f"/actions/{stored.action_id}", f"/cases/{world.ids['post-case']}"):
        r = world.api.client.get(page)
        assert r.status_code == 200, page
        assert f'data-statement="{stored.id}"' in r.text and stored.puid in r.text
        assert "DECISION_VISIBILITY_CONTENT_REMOVED" in r.text and 'data-testid="statement-json"' in r.text
        assert world.statements["photo-cs"].puid not in r.text


def test_a_subject_hidden_by_need_to_know_hides_its_statement(world: World) -> None:
    hidden = world.statements["photo-cs"]
    world.api.open_console(world.settings, world.ids["sen"])  # a senior without the child-safety role
    for page in (f"/actions/{hidden.action_id}", f"/cases/{world.ids['photo-case']}"):
        r = world.api.client.get(page)
        assert r.status_code == 404 and hidden.puid not in r.text, page
    world.api.open_console(world.settings, world.ids["cs-lead"])
    for page in (f"/actions/{hidden.action_id}", f"/cases/{world.ids['photo-case']}"):
        r = world.api.client.get(page)
        assert r.status_code == 200 and hidden.puid in r.text, page
