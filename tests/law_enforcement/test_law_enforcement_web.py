"""The host platform files law-enforcement requests through the API (scope legal:write), and
legal staff work them in the console: the dashboard, the intake form, review to closure; a
request under a non-disclosure order lets no notice about it through."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from tests.evidence.conftest import LEGAL, Held
from trustdesk.auth import api_clients, staff
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict
from trustdesk.domain.law_enforcement import Intake
from trustdesk.domain.vocabulary import NoticeKind, NoticeRecipient, Scope
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.law_enforcement import requests
from trustdesk.notices.notice import Draft, Recipient, queue_notice
from trustdesk.notices.templates import Rendered
from trustdesk.organisation import ensure_app
from trustdesk.store.models import App, Case, LawEnforcementRequest, StaffUser, StatementOfReasons, Subject
from trustdesk.web.permissions import SESSION_COOKIE

FILING: dict[str, Any] = {
    "external_id": "le-7", "agency": "Policía Nacional", "officer_name": "Insp. Luis Vega", "officer_email": "lvega@policia.example",
    "instrument": "take_it_down_request", "reference": "TID-2026-3", "subject_external_ids": ["photo-1"],
    "received_at": "2026-12-01T09:30:00Z",
}


def test_the_api_files_a_request_once_and_answers_a_retry_with_it(world: Held) -> None:
    r = world.api.post("/api/v1/law-enforcement-requests", FILING)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["instrument"], body["status"], body["emergency"], body["due_at"]) == \
        ("take_it_down_request", "received", False, "2026-12-03T09:30:00Z")
    assert body["known_copies"] == [{"subject_id": world.ids["photo-2"], "external_id": "photo-2", "how": ["same file"]}]
    again = world.api.post("/api/v1/law-enforcement-requests", FILING)
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    changed = world.api.post("/api/v1/law-enforcement-requests", FILING | {"reference": "TID-2026-4"})
    assert (changed.status_code, changed.json()["field"]) == (409, "external_id")


def test_the_api_names_the_field_it_refuses(world: Held) -> None:
    no_date = world.api.post("/api/v1/law-enforcement-requests", FILING | {"external_id": "le-8", "instrument": "subpoena"})
    assert (no_date.status_code, no_date.json()["field"]) == (422, "due_at")
    unknown = world.api.post("/api/v1/law-enforcement-requests", FILING | {"external_id": "le-9", "subject_external_ids": ["nobody"]})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "subjects")


def test_a_token_without_legal_write_is_refused(world: Held) -> None:
    with world.api.db.session() as s:
        app = s.execute(select(App)).scalars().first()
        assert app is not None
        scopes = [x for x in Scope if x is not Scope.LEGAL_WRITE]
        token = api_clients.create_client(s, LEGAL, app, "old-backend", scopes)[1]
    r = world.api.client.post("/api/v1/law-enforcement-requests", json=FILING, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403, r.text


def _legal_console(world: Held, settings: Settings) -> str:
    with world.api.db.session() as s:
        user = staff.create_user(s, LEGAL, settings, username="lena", password="correct horse battery", roles=["legal"], with_totp=False)
        token = staff.open_session(s, settings, s.get_one(StaffUser, user.id))
    world.api.client.cookies.set(SESSION_COOKIE, token)
    page = world.api.client.get("/law-enforcement-requests")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_legal_staff_record_review_narrow_disclose_and_close_in_the_console(world: Held, settings: Settings) -> None:
    csrf = _legal_console(world, settings)
    client = world.api.client
    r = client.post("/law-enforcement-requests", data={
        "csrf_token": csrf, "app": "dating", "agency": "County Sheriff", "officer_name": "Det. Ana Ruiz",
        "officer_email": "aruiz@sheriff.example", "instrument": "search_warrant", "reference": "W-9", "subjects": "acc-1\nacc-2",
        "due_at": "2027-01-31T17:00", "non_disclosure": "yes"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    path = r.headers["location"].split("?")[0]
    request_id = int(path.rsplit("/", 1)[1])
    assert client.post(f"{path}/review/start", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    r = client.post(f"{path}/review", data={"csrf_token": csrf, "outcome": "narrow", "reasons": "one account only", "subject": ["acc-2"]},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    package = client.post(f"{path}/disclose", data={"csrf_token": csrf, "reason": "served by mail"})
    assert (package.status_code, package.headers["content-type"]) == (200, "application/zip")
    assert client.post(f"{path}/close", data={"csrf_token": csrf, "reason": "answered"}, follow_redirects=False).status_code == 303
    with world.api.db.reader() as s:
        request = requests.request_of(s, request_id)
        assert (request.status, request.disclosed_subject_ids, request.non_disclosure) == ("closed", [world.ids["acc-2"]], True)
        assert request.disclosure_sha256 == hashlib.sha256(package.content).hexdigest()
    page = client.get(path)
    assert page.status_code == 200 and "Non-disclosure order" in page.text and request.disclosure_sha256 in page.text


def test_the_console_form_names_the_field_it_refuses_on_the_dashboard(world: Held, settings: Settings) -> None:
    csrf = _legal_console(world, settings)
    r = world.api.client.post("/law-enforcement-requests", data={
        "csrf_token": csrf, "app": "dating", "agency": "County Sheriff", "officer_name": "Det. Ana Ruiz",
        "officer_email": "aruiz@sheriff.example", "instrument": "court_order", "reference": "C-1", "subjects": "acc-1"})
    assert r.status_code == 422
    assert 'data-testid="error"' in r.text and "states when it must be answered" in r.text


def test_the_dashboard_highlights_the_overdue(world: Held, settings: Settings) -> None:
    with world.api.db.session() as s:
        request, _ = requests.receive(s, LEGAL, world.api.app_id, Intake(
            "County Sheriff", "Det. Ana Ruiz", "aruiz@sheriff.example", "", "emergency_disclosure", "E-1", ("acc-1",),
            datetime.now(timezone.utc) - timedelta(hours=2)))
        request_id = request.id
    _legal_console(world, settings)
    page = world.api.client.get("/law-enforcement-requests").text
    row = re.search(rf'<tr id="request-{request_id}"[^>]*>', page)
    assert row and 'class="breached"' in row.group(0) and 'data-overdue="yes"' in row.group(0)


def test_no_notice_goes_out_on_a_request_under_a_non_disclosure_order(world: Held) -> None:
    r = world.api.post("/api/v1/law-enforcement-requests", FILING | {"non_disclosure": True})
    assert r.status_code == 201, r.text
    with world.api.db.session() as s:
        case_id = s.get_one(LawEnforcementRequest, r.json()["id"]).case_id
        with pytest.raises(Conflict) as refused:
            queue_notice(s, LEGAL, Draft(app_id=world.api.app_id, kind=NoticeKind.REPLY, subject_id=world.ids["photo-1"],
                                         recipient=Recipient(NoticeRecipient.USER, subject_id=world.ids["acc-1"]), locale="en",
                                         text=Rendered("About your account", "We received a request.\n"), case_id=case_id))
    assert refused.value.field == "case_id"


def test_a_takedown_of_the_named_content_leaves_the_request_open_for_legal_staff(world: Held) -> None:
    """A moderation decision decides report and escalation cases; the request, under a
    non-disclosure order here, stays open, and the takedown is applied with its statement."""
    r = world.api.post("/api/v1/law-enforcement-requests", FILING | {"non_disclosure": True})
    assert r.status_code == 201, r.text
    with world.api.db.session() as s:
        decision = decide_subject(s, LEGAL, world.ids["photo-1"], DecisionRequest("NCII", verdict="violation", actions=["remove"],
                                                                                 rationale="Shared without consent."))
        decision_id = decision.id
    with world.api.db.reader() as s:
        case = s.get_one(Case, r.json()["case_id"])
        assert (case.kind, case.status) == ("law_enforcement_request", "open")
        assert s.get_one(Subject, world.ids["photo-1"]).visibility == "removed"
        assert s.execute(select(StatementOfReasons.id).where(StatementOfReasons.decision_id == decision_id)).first() is not None


def test_the_request_case_opens_for_legal_staff(world: Held, settings: Settings) -> None:
    r = world.api.post("/api/v1/law-enforcement-requests", FILING)
    assert r.status_code == 201, r.text
    _legal_console(world, settings)
    page = world.api.client.get(f"/cases/{r.json()['case_id']}")
    assert page.status_code == 200, page.text[:500]


def _filed(world: Held, **change: Any) -> dict[str, Any]:
    r = world.api.post("/api/v1/law-enforcement-requests", FILING | change)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_host_platform_reads_back_what_it_filed_through_review(world: Held) -> None:
    filed = _filed(world, instrument="search_warrant", due_at="2027-01-31T17:00:00Z", subject_external_ids=["acc-1", "acc-2"],
                   non_disclosure=True, non_disclosure_until="2027-06-30")
    read = world.api.client.get(f"/api/v1/law-enforcement-requests/{filed['id']}", headers=world.api.auth)
    assert read.status_code == 200 and read.json() == filed
    assert (filed["status"], filed["agency"], filed["reference"], filed["due_at"], filed["review_outcome"]) == \
        ("received", "Policía Nacional", "TID-2026-3", "2027-01-31T17:00:00Z", None)
    assert filed["subjects"] == [{"id": world.ids["acc-1"], "external_id": "acc-1"}, {"id": world.ids["acc-2"], "external_id": "acc-2"}]
    assert (filed["non_disclosure"], filed["non_disclosure_until"]) == (True, "2027-06-30")
    with world.api.db.session() as s:
        requests.start_review(s, LEGAL, filed["id"])
        requests.review(s, LEGAL, filed["id"], "narrow", "one account only", [world.ids["acc-2"]])
    reviewed = world.api.client.get(f"/api/v1/law-enforcement-requests/{filed['id']}", headers=world.api.auth).json()
    assert (reviewed["status"], reviewed["review_outcome"], reviewed["review_reasons"], reviewed["disclosed_subject_ids"]) == \
        ("narrowed", "narrow", "one account only", [world.ids["acc-2"]])
    assert reviewed["reviewed_at"] is not None


def test_the_list_filters_by_status_and_pages_newest_first(world: Held) -> None:
    first, second, third = (_filed(world, external_id=f"le-{n}")["id"] for n in (1, 2, 3))
    with world.api.db.session() as s:
        requests.close(s, LEGAL, second, "withdrawn by the agency")

    def listed(**query: Any) -> tuple[list[tuple[int, str]], int | None]:
        r = world.api.client.get("/api/v1/law-enforcement-requests", params=query, headers=world.api.auth)
        assert r.status_code == 200, r.text
        return [(x["id"], x["status"]) for x in r.json()["requests"]], r.json()["next_before"]

    assert listed() == ([(third, "received"), (second, "closed"), (first, "received")], None)
    assert listed(status="received") == ([(third, "received"), (first, "received")], None)
    assert listed(status="closed") == ([(second, "closed")], None)
    assert listed(limit=2) == ([(third, "received"), (second, "closed")], second)
    assert listed(limit=2, before=second) == ([(first, "received")], None)
    bad = world.api.client.get("/api/v1/law-enforcement-requests", params={"status": "pending"}, headers=world.api.auth)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")


def test_a_request_is_read_only_by_the_app_that_filed_it(world: Held) -> None:
    filed = _filed(world)
    with world.api.db.session() as s:
        recorded, _ = requests.receive(s, LEGAL, world.api.app_id, Intake(  # by legal staff in the console: not the app's
            "County Sheriff", "Det. Ana Ruiz", "aruiz@sheriff.example", "", "emergency_disclosure", "E-1", ("acc-1",),
            datetime.now(timezone.utc) - timedelta(hours=2)))
        recorded_id = recorded.id
        other = ensure_app(s, LEGAL, "market", "Market")
        other_token = api_clients.create_client(s, LEGAL, other, "market-legal", [Scope.LEGAL_WRITE])[1]
        narrow_token = api_clients.create_client(s, LEGAL, other, "market-backend", [Scope.REPORTS_WRITE])[1]
    own = world.api.client.get("/api/v1/law-enforcement-requests", headers=world.api.auth).json()["requests"]
    assert [x["id"] for x in own] == [filed["id"]]
    mine = world.api.client.get(f"/api/v1/law-enforcement-requests/{recorded_id}", headers=world.api.auth)
    assert (mine.status_code, mine.json()["field"]) == (404, "request_id")
    stranger = {"Authorization": f"Bearer {other_token}"}
    theirs = world.api.client.get(f"/api/v1/law-enforcement-requests/{filed['id']}", headers=stranger)
    assert (theirs.status_code, theirs.json()["field"]) == (404, "request_id")
    assert world.api.client.get("/api/v1/law-enforcement-requests", headers=stranger).json()["requests"] == []
    narrow = world.api.client.get("/api/v1/law-enforcement-requests", headers={"Authorization": f"Bearer {narrow_token}"})
    assert (narrow.status_code, narrow.json()["field"]) == (403, "authorization")
