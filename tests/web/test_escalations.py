"""Escalations through the API and the console: a case escalated to legal is hidden from a plain
moderator everywhere (object by object), legal works it; CX filings open or escalate a case and
their requester reads only what is meant for them, and the outcome."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Api
from tests.web.test_need_to_know import World
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Scope
from trustdesk.store.models import App, Case, Queue, Subject

SETUP = Actor("test", "setup")
PEOPLE = {"mod": ["moderator"], "legal": ["legal"], "sen": ["senior"]}
SECRET = "report text for the legal team only"


@pytest.fixture
def world(api: Api, settings: Settings) -> World:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        people = {name: staff.create_user(s, SETUP, settings, username=name, password="long enough password", roles=roles,
                                          with_totp=False).id for name, roles in PEOPLE.items()}
    r = api.post("/api/v1/subjects/batch", {"items": [{"external_id": e, "kind": "post", "text": "x"} for e in ("post-1", "post-2", "post-3")]})
    assert r.status_code == 200, r.text
    for ext, subject in (("r1", "post-1"), ("r2", "post-2")):
        r = api.post("/api/v1/reports", {"external_id": ext, "subject_external_id": subject, "policy_code": "SPAM",
                                         "reporter_type": "anonymous", "text": SECRET})
        assert r.status_code == 201, r.text
    with api.db.reader() as s:
        subjects = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
        cases = {c.subject_id: c.id for c in s.execute(select(Case)).scalars()}
        queues = {q.tier or q.name: q.id for q in s.execute(select(Queue)).scalars()}
    ids = {"case": cases[subjects["post-1"]], "other": cases[subjects["post-2"]], "legal-queue": queues["legal"],
           "general": queues["General"]}
    return World(api, settings, ids | people)


def test_a_case_escalated_to_legal_is_hidden_from_a_moderator_everywhere(world: World) -> None:
    mod = world.as_("mod")
    r = world.api.client.post(f"/api/v1/cases/{world.ids['case']}/escalations", headers=mod,
                              json={"tier": "legal", "reason": "a court order names this post", "urgency": "high"})
    assert r.status_code == 201, r.text
    assert (r.json()["tier"], r.json()["status"], r.json()["from_queue_id"]) == ("legal", "open", world.ids["general"])
    refusals = [
        ("GET", "/api/v1/cases/{case}", None, 404), ("GET", "/api/v1/cases/{case}/escalations", None, 404),
        ("POST", "/api/v1/cases/{case}/comments", {"body": "let me see"}, 404),
        ("POST", "/api/v1/cases/{case}/escalations", {"tier": "senior", "reason": "again"}, 404),
        ("GET", "/api/v1/queues/{legal-queue}/cases", None, 403),
    ]
    wrong = [(m, p, status) for m, p, body, refusal in refusals
             if (status := world.call(m, p, mod, json_body=body)[0]) != refusal]
    console = world.console("mod")
    for method, path, form, refusal in [("GET", "/cases/{case}", None, 404), ("POST", "/cases/{case}/comments", {"body": "x"}, 404),
                                        ("POST", "/cases/{case}/escalate", {"tier": "senior", "reason": "x"}, 404),
                                        ("GET", "/queues/{legal-queue}", None, 403)]:
        status, text = world.call(method, path, console, form=form)
        if status != refusal or SECRET in text:
            wrong.append((method, path, status))
    assert wrong == []
    listed = world.api.client.get(f"/api/v1/queues/{world.ids['general']}/cases", headers=mod).json()
    assert [c["id"] for c in listed] == [world.ids["other"]]
    claim = world.api.client.post("/api/v1/cases/next", headers=mod).json()
    assert claim["case"]["id"] == world.ids["other"]

    legal = world.as_("legal")
    seen = world.api.client.get(f"/api/v1/cases/{world.ids['case']}", headers=legal)
    assert seen.status_code == 200 and seen.json()["case"]["tier"] == "legal"
    assert seen.json()["escalations"][0]["reason"] == "a court order names this post"
    assert world.call("POST", "/api/v1/cases/{case}/comments", legal, json_body={"body": "checking the order"})[0] == 201
    back = world.api.client.post(f"/api/v1/cases/{world.ids['case']}/de-escalate", headers=legal, json={"note": "order withdrawn"})
    assert back.status_code == 200 and back.json()["status"] == "de_escalated"
    assert world.call("GET", "/api/v1/cases/{case}", mod)[0] == 200


def test_the_console_escalates_and_shows_the_imminent_harm_reason(world: World) -> None:
    headers = world.console("mod")
    refused = world.api.client.post(f"/cases/{world.ids['case']}/escalate", headers=headers,
                                    data={"tier": "imminent_harm", "reason": "says they will hurt themselves tonight"})
    assert refused.status_code == 422 and "authorities_notified" in refused.text
    moved = world.api.client.post(f"/cases/{world.ids['case']}/escalate", headers=headers, follow_redirects=False, data={
        "tier": "imminent_harm", "reason": "says they will hurt themselves tonight", "urgency": "critical",
        "authorities_notified": "yes", "authorities_notified_at": "2026-01-02T03:04"})
    assert moved.status_code == 303 and moved.headers["location"] == "/queues?notice=escalated-handed-over"
    page = world.api.client.get(f"/cases/{world.ids['case']}", headers=world.console("sen"))
    assert page.status_code == 200
    assert 'data-testid="escalation-reason">says they will hurt themselves tonight<' in page.text
    assert "Authorities notified 2026-01-02 03:04 UTC." in page.text and 'data-testid="de-escalate-form"' in page.text
    back = world.api.client.post(f"/cases/{world.ids['case']}/de-escalate", headers=world.console("sen"), follow_redirects=False,
                                 data={"note": "spoke to them; safe now"})
    assert back.status_code == 303 and back.headers["location"] == f"/cases/{world.ids['case']}?notice=de-escalated"


def _client(world: World, name: str) -> dict[str, str]:
    with world.api.db.session() as s:
        app = s.execute(select(App)).scalars().first()
        assert app is not None
        _c, token = api_clients.create_client(s, SETUP, app, name, [Scope.ESCALATIONS_WRITE])
    return {"Authorization": f"Bearer {token}"}


def _filing(**changes: Any) -> dict[str, Any]:
    return {"external_id": "cx-1", "subject_external_id": "post-3", "policy_code": "SCAM", "requester_ref": "ticket-9",
            "reason": "the user was scammed and wrote to support", "urgency": "high"} | changes


def test_cx_filings_open_or_escalate_a_case_and_the_requester_reads_only_their_part(world: World) -> None:
    cx, other = _client(world, "cx-desk"), _client(world, "another-tool")
    first = world.api.client.post("/api/v1/escalations", json=_filing(), headers=cx)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["tier"], body["status"], body["case_status"], body["outcome"], body["notes"]) == ("escalations", "open", "open", None, [])
    again = world.api.client.post("/api/v1/escalations", json=_filing(), headers=cx)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    changed = world.api.client.post("/api/v1/escalations", json=_filing(reason="something else"), headers=cx)
    assert changed.status_code == 409 and changed.json()["field"] == "external_id"
    missing = world.api.client.post("/api/v1/escalations", json=_filing(external_id="cx-2", subject_external_id="nope"), headers=cx)
    assert missing.status_code == 404 and missing.json()["field"] == "subject_external_id"
    with world.api.db.reader() as s:
        opened = s.execute(select(Case).where(Case.kind == "escalation")).scalar_one()
        assert (opened.tier, opened.policy_code, opened.report_count) == ("escalations", "SCAM", 0)
    # A subject with an open report case: that case is escalated, not a new one opened.
    on_report = world.api.client.post("/api/v1/escalations", json=_filing(external_id="cx-3", subject_external_id="post-1"), headers=cx)
    assert on_report.status_code == 201
    with world.api.db.reader() as s:
        assert s.get_one(Case, world.ids["case"]).tier == "escalations"

    sen = world.as_("sen")
    assert world.call("GET", f"/api/v1/cases/{opened.id}", sen)[0] == 404  # the escalations tier is the escalation desk's
    with world.api.db.session() as s:
        world.ids["desk"] = staff.create_user(s, SETUP, world.settings, username="desk", password="long enough password",
                                              roles=["escalations"], with_totp=False).id
    world.ids["opened"] = opened.id
    desk_headers = world.as_("desk")
    for note, visibility in (("internal: looks like the ring from last week", "internal"), ("We are looking into it.", "requester")):
        r = world.api.client.post(f"/api/v1/cases/{opened.id}/comments", headers=desk_headers, json={"body": note, "visibility": visibility})
        assert r.status_code == 201, r.text
    no_requester = world.api.client.post(f"/api/v1/cases/{world.ids['other']}/comments", headers=sen,
                                         json={"body": "hello", "visibility": "requester"})
    assert no_requester.status_code == 422 and no_requester.json()["field"] == "visibility"
    assert world.api.client.get(f"/api/v1/escalations/{body['id']}", headers=other).status_code == 404
    world.hold("opened", "desk")
    decided = world.api.client.post(f"/api/v1/cases/{opened.id}/decision", headers=desk_headers,
                                    json={"policy_code": "SCAM", "verdict": "violation", "actions": ["remove"], "rationale": "phishing"})
    assert decided.status_code == 201, decided.text
    view = world.api.client.get(f"/api/v1/escalations/{body['id']}", headers=cx)
    assert view.status_code == 200
    told = view.json()
    assert (told["case_status"], told["outcome"]) == ("decided", "violation")
    assert [n["body"] for n in told["notes"]] == ["We are looking into it."]
    assert "ring from last week" not in view.text and SECRET not in view.text
