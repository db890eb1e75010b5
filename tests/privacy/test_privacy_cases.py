"""Privacy staff work their requests' cases where any case is worked (the case page and file,
the queue, comments, taking and handing on) and reach no other case: a report case in a queue
open to everyone and a law-enforcement request's case answer them as cases that do not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from tests.evidence.conftest import Held
from trustdesk.audit.log import Actor
from tests.conftest import TEST_PASSWORD_HASHING
from trustdesk.auth.passwords import hash_password
from trustdesk.config import Settings
from trustdesk.domain.law_enforcement import Intake
from trustdesk.law_enforcement import requests as le_requests
from trustdesk.store.models import Case, PrivacyRequest, StaffUser

SETUP = Actor("test", "setup")
FILING = {"external_id": "dsr-1", "subject_external_id": "acc-1", "regime": "gdpr", "request_type": "access",
          "requester_name": "Mara", "requester_contact": "mara@example.org", "received_on": "2026-01-31"}


@dataclass(frozen=True)
class Cases:
    privacy: int
    report: int
    law_enforcement: int
    privacy_queue: int
    report_queue: int


def _staff(world: Held, username: str, roles: list[str]) -> int:
    with world.api.db.session() as s:
        user = StaffUser(username=username, display_name=username, password_hash=hash_password("x" * 16, TEST_PASSWORD_HASHING), roles=roles)
        s.add(user)
        s.flush()
        return user.id


@pytest.fixture
def cases(world: Held) -> Cases:
    r = world.api.post("/api/v1/privacy-requests", FILING)
    assert r.status_code == 201, r.text
    intake = Intake("County Sheriff", "Det. Ana Ruiz", "aruiz@sheriff.example", "", "emergency_disclosure", "SO-1", ("post-1",),
                    datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    with world.api.db.session() as s:
        le_case = le_requests.receive(s, SETUP, world.api.app_id, intake)[0].case_id
        privacy_case = s.execute(select(Case).where(Case.kind == "privacy_request")).scalar_one()
        report_case = s.execute(select(Case).where(Case.kind == "report")).scalar_one()
        return Cases(privacy_case.id, report_case.id, le_case, privacy_case.queue_id, report_case.queue_id)


def test_the_privacy_team_reads_its_cases_and_no_others(world: Held, cases: Cases, settings: Settings) -> None:
    priya = _staff(world, "priya", ["privacy"])
    token = world.api.staff_token(priya)
    world.api.open_console(settings, priya)
    page = world.api.client.get(f"/cases/{cases.privacy}")
    assert page.status_code == 200, page.text[:500]
    assert "acc-1" in page.text
    read = world.api.client.get(f"/api/v1/cases/{cases.privacy}", headers=token)
    assert read.status_code == 200 and read.json()["case"]["kind"] == "privacy_request"
    listed = world.api.client.get(f"/api/v1/queues/{cases.privacy_queue}/cases", headers=token)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()] == [cases.privacy]
    assert world.api.client.get(f"/queues/{cases.privacy_queue}").status_code == 200
    for other in (cases.report, cases.law_enforcement):
        assert world.api.client.get(f"/cases/{other}").status_code == 404
        refused = world.api.client.get(f"/api/v1/cases/{other}", headers=token)
        assert refused.status_code == 404 and refused.json()["field"] == "case_id"
    assert world.api.client.get(f"/api/v1/queues/{cases.report_queue}/cases", headers=token).status_code == 403
    assert world.api.client.get(f"/queues/{cases.report_queue}").status_code == 403


def test_the_privacy_team_comments_on_and_takes_its_cases(world: Held, cases: Cases) -> None:
    priya, pablo = _staff(world, "priya", ["privacy"]), _staff(world, "pablo", ["privacy"])
    token = world.api.staff_token(priya)
    said = world.api.client.post(f"/api/v1/cases/{cases.privacy}/comments", json={"body": "asked for ID"}, headers=token)
    assert said.status_code == 201, said.text
    refused = world.api.client.post(f"/api/v1/cases/{cases.report}/comments", json={"body": "x"}, headers=token)
    assert refused.status_code == 404
    taken = world.api.client.post("/api/v1/cases/next", headers=token)
    assert taken.status_code == 200 and taken.json()["case"]["id"] == cases.privacy  # never the report case
    assert world.api.client.post(f"/api/v1/cases/{cases.privacy}/renew", headers=token).status_code == 200
    assert world.api.client.post("/api/v1/cases/next", headers=token).json()["case"] is None  # nothing else is theirs
    handed = world.api.client.post(f"/api/v1/cases/{cases.privacy}/assign", json={"staff_id": pablo}, headers=token)
    assert handed.status_code == 200 and handed.json()["assigned_to"] == pablo
    moderator = _staff(world, "mo", ["moderator"])
    refused = world.api.client.post(f"/api/v1/cases/{cases.privacy}/assign", json={"staff_id": moderator}, headers=token)
    assert refused.status_code == 422 and refused.json()["field"] == "staff_id"  # not for a moderator's roles
    refused = world.api.client.post(f"/api/v1/cases/{cases.report}/assign", json={"staff_id": pablo}, headers=token)
    assert refused.status_code == 404
    with world.api.db.reader() as s:
        assert s.get_one(Case, cases.report).assigned_to is None


def test_someone_who_also_moderates_sees_both(world: Held, cases: Cases) -> None:
    both = world.api.staff_token(_staff(world, "mixed", ["privacy", "moderator"]))
    for case_id in (cases.privacy, cases.report):
        assert world.api.client.get(f"/api/v1/cases/{case_id}", headers=both).status_code == 200



def test_a_privacy_request_does_not_take_the_account_out_of_moderators_sight(world: Held, cases: Cases, settings: Settings) -> None:
    moderator = _staff(world, "mo", ["moderator"])
    assert world.api.client.get(f"/api/v1/cases/{cases.privacy}", headers=world.api.staff_token(moderator)).status_code == 404
    world.api.open_console(settings, moderator)
    page = world.api.client.get(f"/subjects/{world.ids['acc-1']}")
    assert page.status_code == 200 and "acc-1" in page.text
    assert f'href="/cases/{cases.privacy}"' not in page.text  # the request itself stays the privacy team's


def test_a_held_privacy_case_points_to_its_request_instead_of_a_decision(world: Held, cases: Cases, settings: Settings) -> None:
    csrf = world.api.open_console(settings, _staff(world, "priya", ["privacy"]))
    taken = world.api.client.post("/cases/next", headers=csrf, follow_redirects=False)
    assert taken.status_code == 303 and taken.headers["location"].startswith(f"/cases/{cases.privacy}")
    page = world.api.client.get(f"/cases/{cases.privacy}")
    assert page.status_code == 200 and 'data-testid="read-only"' not in page.text  # held
    with world.api.db.reader() as s:
        request_id = s.execute(select(PrivacyRequest.id).where(PrivacyRequest.case_id == cases.privacy)).scalar_one()
    assert f'href="/privacy-requests/{request_id}"' in page.text
    assert 'id="decision"' not in page.text and "/imminent-harm" not in page.text
