"""Times a client sends lie between the year 1900 and 9999 once in UTC, and a subject's update
keeps the rules of its creation: anything else is a 422 naming the field, not a 500 (an offset
that takes a time past the year 1 or 9999), nor a row stored that can never be read again (a
year before 1000 on SQLite), nor a month in other scripts' digits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Api
from tests.web.test_permissions import LE_FILING, _new_staff, _world
from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.domain.rules import parse_rule
from trustdesk.domain.vocabulary import Role
from trustdesk.rules.versions import save_rule
from trustdesk.store import dialects
from trustdesk.store.models import Case, utcnow

PAST_YEAR_1 = "0001-01-01T00:00:00+23:59"  # before the year 1 in UTC
PAST_9999 = "9999-12-31T23:59:59-23:59"  # after the year 9999 in UTC
REPORT = {"external_id": "r-9", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "anonymous"}
EVENT = {"external_id": "e-9", "account_external_id": "acc-1", "kind": "login"}

# method, path, JSON body, the field named
CASES: list[tuple[str, str, Any, str]] = [
    ("POST", "/api/v1/subjects", {"external_id": "t-1", "kind": "post", "created_at": PAST_9999}, "created_at"),
    ("POST", "/api/v1/subjects", {"external_id": "t-1", "kind": "post", "created_at": "0999-06-01T00:00:00Z"}, "created_at"),
    ("POST", "/api/v1/subjects/batch", {"items": [{"external_id": "t-1", "kind": "post", "created_at": PAST_YEAR_1}]},
     "items[0].created_at"),
    ("POST", "/api/v1/reports", REPORT | {"reported_at": PAST_YEAR_1}, "reported_at"),
    ("POST", "/api/v1/account-events", EVENT | {"occurred_at": PAST_YEAR_1}, "occurred_at"),
    ("POST", "/api/v1/account-events", EVENT | {"occurred_at": "1899-12-31T23:59:59Z"}, "occurred_at"),
    ("POST", "/api/v1/law-enforcement-requests", LE_FILING | {"received_at": PAST_9999}, "received_at"),
    ("POST", "/api/v1/evaluate", {"external_id": "t-2", "kind": "message", "text": "hi", "created_at": PAST_9999}, "created_at"),
    ("GET", "/api/v1/rules/watch/backtest?since=0001-01-01T00:00:00%2B23:59", None, "since"),
    ("PATCH", "/api/v1/subjects/post-1", {"language": "x"}, "language"),
    ("PATCH", "/api/v1/subjects/post-1", {"visibility": None}, "visibility"),
    ("PATCH", "/api/v1/subjects/post-1", {"attributes": None}, "attributes"),
    ("PUT", "/api/v1/active-recipients/\u0662\u0660\u0662\u0666-\u0660\u0661",
     {"count": 10}, "month"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES, ids=[f"{c[0]} {c[1][:40]} {c[3]}" for c in CASES])
def test_a_time_or_field_out_of_range_is_a_422_naming_it(api: Api, method: str, path: str, body: Any, field: str) -> None:
    with api.db.session() as s:
        admin_id = _new_staff(s, "root", [r.value for r in Role]).id
        save_rule(s, Actor("test", "setup"), parse_rule({"name": "watch", "mode": "shadow", "expression": "true", "effects": []}),
                  source="api")
    _world(api, admin_id)
    headers = api.staff_token(admin_id) if "backtest" in path else api.auth
    answer = api.client.request(method, path, json=body, headers=headers)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["field"] == field, answer.json()


def test_times_of_the_years_kept_are_stored_and_read_back(api: Api) -> None:
    r = api.post("/api/v1/subjects/batch", {"items": [{"external_id": "old-1", "kind": "account", "created_at": "1901-02-03T04:05:06-05:00"}]})
    assert r.status_code == 200, r.text
    read = api.client.get("/api/v1/subjects/old-1", headers=api.auth)
    assert read.status_code == 200, read.text
    assert read.json()["subject"]["created_at"].startswith("1901-02-03T09:05:06")


def test_a_time_before_the_year_1000_is_written_with_four_digits_as_sqlite_reads_it() -> None:
    assert dialects._stored_time("sqlite", datetime(999, 6, 1, tzinfo=timezone.utc)) == "0999-06-01 00:00:00.000000"


def test_a_body_the_framework_cannot_read_is_named_body(api: Api) -> None:
    """Form data sent to a JSON route: 400 naming `body`."""
    answer = api.client.post("/api/v1/evaluate", content=b"{}", headers=api.auth | {"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and answer.json()["field"] == "body", answer.text


@pytest.mark.parametrize("effect", [{"type": []}, {"type": {"route": 1}}, {"type": "route", "band": []}])
def test_a_rule_effect_of_the_wrong_shape_is_a_422_naming_it(api: Api, effect: dict[str, Any]) -> None:
    with api.db.session() as s:
        admin_id = _new_staff(s, "root", [r.value for r in Role]).id
    rule = {"name": "r", "mode": "shadow", "expression": "true", "effects": [effect]}
    answer = api.client.post("/api/v1/rules", json=rule, headers=api.staff_token(admin_id))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "effects[0]." + ("band" if "band" in effect else "type")


@pytest.mark.parametrize("kind", ["law_enforcement_request", "privacy_request"])
def test_a_legal_request_case_has_no_decision_panel_nor_imminent_harm_route(api: Api, settings: Settings, kind: str) -> None:
    """Their policy code is the instrument or the request type, which no policy has: pages and
    routes that looked it up as a policy answered 500."""
    with api.db.session() as s:
        root = _new_staff(s, "root", [r.value for r in Role]).id
    _world(api, root)
    filed = api.post("/api/v1/law-enforcement-requests", LE_FILING) if kind == "law_enforcement_request" else api.post(
        "/api/v1/privacy-requests", {"external_id": "dsr-1", "subject_external_id": "acc-1", "regime": "gdpr", "request_type": "access",
                                     "requester_name": "A", "requester_contact": "a@example.org", "received_on": "2026-12-01"})
    assert filed.status_code == 201, filed.text
    with api.db.session() as s:
        case = s.execute(select(Case).where(Case.kind == kind)).scalar_one()
        case.claimed_by, case.lease_until, case_id = root, utcnow() + timedelta(minutes=5), case.id
    api.open_console(settings, root)
    page = api.client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'id="decision"' not in page.text and "/imminent-harm" not in page.text
    assert 'data-testid="authorities-request"' in page.text if kind == "law_enforcement_request" else 'data-testid="privacy-request"' in page.text
    panel = api.client.get(f"/cases/{case_id}/decision", headers={"Accept": "text/html"})
    assert panel.status_code == 409 and "answered on the request" in panel.text
    flagged = api.client.post(f"/api/v1/cases/{case_id}/imminent-harm", json={"reason": "a threat"}, headers=api.staff_token(root))
    assert flagged.status_code == 409 and flagged.json()["field"] == "case_id", flagged.text
