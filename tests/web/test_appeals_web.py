"""Appeals over HTTP: the host platform files and follows them, staff file one for a user in the
console, and a second reviewer decides the appeal case in the console or through the API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.store.models import Case, Decision, Queue, StaffUser, Strike, Subject
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")


@dataclass
class Desk:
    api: Api
    settings: Settings
    tokens: dict[str, str]
    users: dict[str, int]

    def staff_call(self, who: str, method: str, path: str, body: object = None):  # type: ignore[no-untyped-def]
        return self.api.client.request(method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def log_in(self, who: str) -> str:
        """A console session for `who`; returns its CSRF token."""
        with self.api.db.session() as s:
            token = staff.open_session(s, self.settings, s.get_one(StaffUser, self.users[who]))
        with self.api.db.reader() as s:
            found = staff.resolve_session(s, token)
            assert found is not None
            csrf = found.csrf_token
        self.api.client.cookies.set(SESSION_COOKIE, token)
        return csrf

    def decide_scam(self, n: int = 1, verdict: str = "violation") -> int:
        """Mia takes the case on a scam listing and removes it with a strike (or finds nothing)."""
        assert self.api.post("/api/v1/subjects/batch", {"items": [
            {"external_id": f"seller-{n}", "kind": "account"},
            {"external_id": f"lst-{n}", "kind": "listing", "account_external_id": f"seller-{n}", "title": "cheap phone"},
        ]}).status_code == 200
        report = {"external_id": f"r-{n}", "subject_external_id": f"lst-{n}", "policy_code": "SCAM", "reporter_type": "trusted_flagger",
                  "dsa": {"notifier_email": "tf@example.org", "notifier_name": "Brand Watch", "explanation": "a fake payment page"}}
        assert self.api.post("/api/v1/reports", report).status_code == 201
        case = self.staff_call("mia", "POST", "/api/v1/cases/next").json()["case"]
        body = ({"policy_code": "SCAM", "verdict": "violation", "actions": ["remove", "strike"], "rationale": "asks for payment off-platform"}
                if verdict == "violation" else {"policy_code": "SCAM", "verdict": "no_violation", "rationale": "an ordinary listing"})
        decided = self.staff_call("mia", "POST", f"/api/v1/cases/{case['id']}/decision", body)
        assert decided.status_code == 201, decided.text
        return int(decided.json()["decision"]["id"])


@pytest.fixture
def desk(api: Api, settings: Settings) -> Desk:
    tokens, users = {}, {}
    with api.db.session() as s:
        seed_queues(s, SETUP)
        for name, roles in (("mia", ["moderator"]), ("sue", ["senior"]), ("qa", ["qa"])):
            user = staff.create_user(s, SETUP, settings, username=name, password="correct horse battery", roles=roles, with_totp=False)
            tokens[name] = api_clients.create_staff_token(s, SETUP, user, "tests")[1]
            users[name] = user.id
    return Desk(api, settings, tokens, users)


def test_the_host_platform_files_an_appeal_idempotently_and_follows_it(desk: Desk) -> None:
    decision_id = desk.decide_scam()
    body = {"external_id": "ap-1", "statement": "It is my own phone, I can send the receipt", "decision_id": decision_id}
    first = desk.api.post("/api/v1/appeals", body)
    assert first.status_code == 201, first.text
    appeal = first.json()
    assert (appeal["appellant"], appeal["decision_id"], appeal["outcome"]) == ("user", decision_id, None) and appeal["case_id"]
    retry = desk.api.post("/api/v1/appeals", body)
    assert (retry.status_code, retry.json()) == (200, appeal)
    changed = desk.api.post("/api/v1/appeals", body | {"statement": "something else"})
    assert (changed.status_code, changed.json()["field"]) == (409, "external_id")
    another = desk.api.post("/api/v1/appeals", body | {"external_id": "ap-2"})
    assert (another.status_code, another.json()["field"]) == (409, "decision_id")
    read = desk.api.client.get(f"/api/v1/appeals/{appeal['id']}", headers=desk.api.auth)
    assert (read.status_code, read.json()) == (200, appeal)
    assert desk.api.client.get("/api/v1/appeals/999999", headers=desk.api.auth).status_code == 404
    typo = desk.api.post("/api/v1/appeals", body | {"external_id": "ap-3", "decsion_id": 1})
    assert (typo.status_code, typo.json()["field"]) == (422, "decsion_id")


def test_an_appeal_after_the_window_is_refused_naming_the_decision(desk: Desk) -> None:
    decision_id = desk.decide_scam()
    with desk.api.db.session() as s:
        created = s.get_one(Decision, decision_id).created_at
        s.execute(update(Decision).where(Decision.id == decision_id).values(created_at=created - timedelta(days=184)))
    late = desk.api.post("/api/v1/appeals", {"external_id": "ap-1", "statement": "please", "decision_id": decision_id})
    assert (late.status_code, late.json()["field"]) == (422, "decision_id") and "183 days" in late.json()["detail"]


def test_a_second_reviewer_overturns_through_the_api_and_qa_reads_the_outcome(desk: Desk) -> None:
    decision_id = desk.decide_scam()
    appeal = desk.api.post("/api/v1/appeals", {"external_id": "ap-1", "statement": "mine", "decision_id": decision_id}).json()
    assert desk.staff_call("mia", "POST", "/api/v1/cases/next").json()["case"] is None  # her own decision: never served
    not_held = desk.staff_call("sue", "POST", f"/api/v1/cases/{appeal['case_id']}/appeal-outcome", {"outcome": "overturned", "rationale": "x"})
    assert (not_held.status_code, not_held.json()["field"]) == (409, "case_id")
    claimed = desk.staff_call("sue", "POST", "/api/v1/cases/next").json()["case"]
    assert claimed["id"] == appeal["case_id"]
    decided = desk.staff_call("sue", "POST", f"/api/v1/cases/{appeal['case_id']}/appeal-outcome",
                              {"outcome": "overturned", "rationale": "the receipt shows the phone is real"})
    assert decided.status_code == 201, decided.text
    assert decided.json()["outcome"] == "overturned"
    assert desk.api.client.get(f"/api/v1/appeals/{appeal['id']}", headers=desk.api.auth).json()["outcome"] == "overturned"
    with desk.api.db.reader() as s:
        listing = s.execute(select(Subject).where(Subject.external_id == "lst-1")).scalar_one()
        assert listing.visibility == "visible" and s.execute(select(Strike.revoked_at)).scalar_one() is not None
        assert verify_chain(s).ok
    counts = desk.staff_call("qa", "GET", "/api/v1/appeals/outcomes")
    assert counts.status_code == 200
    assert counts.json() == [{"reviewer_id": desk.users["mia"], "reviewer": "mia", "policy_code": "SCAM", "upheld": 0, "overturned": 1}]
    assert desk.staff_call("mia", "GET", "/api/v1/appeals/outcomes").status_code == 403


def test_a_notifier_appeals_its_notice_by_its_external_id(desk: Desk) -> None:
    decision_id = desk.decide_scam(verdict="no_violation")
    filed = desk.api.post("/api/v1/appeals", {"external_id": "n-1", "appellant": "notifier", "statement": "the payment page is fake",
                                              "report_external_id": "r-1"})
    assert filed.status_code == 201, filed.text
    assert filed.json()["decision_id"] == decision_id
    unknown = desk.api.post("/api/v1/appeals", {"external_id": "n-2", "appellant": "notifier", "statement": "x", "report_external_id": "r-9"})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "report_external_id")


def test_staff_file_for_a_user_and_a_second_reviewer_decides_on_the_case_page(desk: Desk) -> None:
    decision_id = desk.decide_scam()
    with desk.api.db.reader() as s:
        subject_id = s.get_one(Decision, decision_id).subject_id
    csrf = desk.log_in("mia")
    page = desk.api.client.get(f"/subjects/{subject_id}")
    assert page.status_code == 200 and f'action="/decisions/{decision_id}/appeal"' in page.text
    blank = desk.api.client.post(f"/decisions/{decision_id}/appeal", data={"csrf_token": csrf, "statement": " "}, follow_redirects=False)
    assert blank.status_code == 422 and "statement" in blank.text
    filed = desk.api.client.post(f"/decisions/{decision_id}/appeal", data={"csrf_token": csrf, "statement": "The user phoned: it is their phone"},
                                 follow_redirects=False)
    assert filed.status_code == 303 and filed.headers["location"] == f"/subjects/{subject_id}?notice=appeal-filed"
    with desk.api.db.reader() as s:
        case = s.execute(select(Case).where(Case.kind == "appeal")).scalar_one()
        appeals_queue = s.execute(select(Queue.id).where(Queue.name == "Appeals")).scalar_one()
    assert case.queue_id == appeals_queue
    assert desk.api.client.get(f"/cases/{case.id}").status_code == 404  # the Appeals queue is for seniors and escalations

    csrf = desk.log_in("sue")
    taken = desk.api.client.post("/cases/next", data={"csrf_token": csrf}, follow_redirects=False)
    assert taken.headers["location"].startswith(f"/cases/{case.id}")
    shown = desk.api.client.get(f"/cases/{case.id}").text
    assert "asks for payment off-platform" in shown and "The user phoned" in shown and "a fake payment page" in shown
    assert 'action="/cases/%d/appeal-outcome"' % case.id in shown and 'action="/cases/%d/decide"' % case.id not in shown
    refused = desk.api.client.post(f"/cases/{case.id}/appeal-outcome", data={"csrf_token": csrf, "outcome": "overturned", "rationale": ""},
                                   follow_redirects=False)
    assert refused.status_code == 422 and re.search(r"rationale", refused.text)
    decided = desk.api.client.post(f"/cases/{case.id}/appeal-outcome",
                                   data={"csrf_token": csrf, "outcome": "upheld", "rationale": "the same listing ran on three accounts"},
                                   follow_redirects=False)
    assert decided.status_code == 303
    after = desk.api.client.get(f"/cases/{case.id}").text
    assert "Upheld by Sue" in after or "Upheld by sue" in after
