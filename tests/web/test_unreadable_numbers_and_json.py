"""Text that is not a number or JSON a person means — "²" (a digit to `str.isdigit`, not to
`int`), five thousand digits (past what `int` reads), JSON nested twenty thousand deep, the last
day of the calendar — is refused naming the field, as a page for people in the console. Each
answered 500 before. Input checks touch the database only to look things up: SQLite alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.web.test_permissions import ON_SQLITE, SPAM_NO, SUCCESS, WATCH_FORM, _new_staff, _queue_form, _rule, _world
from trustdesk.config import Settings
from trustdesk.domain.client_input import whole_number
from trustdesk.domain.vocabulary import Role

DEEP = "[" * 20000 + "]" * 20000
DIGITS = "9" * 5000
POLICY = SUCCESS["POST /policies/{code}"].body(None)  # type: ignore[arg-type,misc]
DECIDE = SUCCESS["POST /cases/{case_id}/decide"].body(None)  # type: ignore[arg-type,misc]

CASES: list[tuple[str, str, Any, str]] = [  # method, path, form or query, the field named
    ("GET", "/transparency", {"until": "9999-12-31"}, "until"),
    ("GET", "/transparency.csv", {"until": "9999-12-31"}, "until"),
    ("GET", "/api/v1/transparency-report", {"since": "2026-01-01", "until": "9999-12-31"}, "until"),
    ("POST", "/queues/new", _queue_form("Scam desk") | {"position": "\u00b2"}, "position"),
    ("POST", "/queues/new", _queue_form("Scam desk") | {"sla_P0": "--5"}, "sla_P0"),
    ("POST", "/queues/new", _queue_form("Scam desk") | {"exposure_limit_per_hour": DIGITS}, "exposure_limit_per_hour"),
    ("POST", "/queues/{queue_id}/edit", _queue_form("General", default=True) | {"position": "\u00b2"}, "position"),
    ("POST", "/bulk", {"subject_ids": DIGITS, **SPAM_NO}, "subject_ids"),
    ("POST", "/policies/SPAM", POLICY | {"decision_tree": DEEP}, "decision_tree"),
    ("POST", "/policies/SPAM", POLICY | {"decision_tree": DIGITS}, "decision_tree"),
    ("POST", "/rules/new", WATCH_FORM | {"name": "watch2", "effects": DEEP}, "effects"),
    ("POST", "/rules/watch", WATCH_FORM | {"effects": DIGITS}, "effects"),
    ("POST", "/rules/watch/backtest", WATCH_FORM | {"since": "1d", "effects": DEEP}, "effects"),
    ("GET", "/rules/watch/backtest", {"version": "\u00b2"}, "version"),
]


@ON_SQLITE
@pytest.mark.parametrize(("method", "path", "payload", "field"), CASES)
def test_unreadable_text_is_refused_naming_the_field(api: Api, settings: Settings, method: str, path: str, payload: Any,
                                                     field: str) -> None:
    with api.db.session() as s:
        admin_id = _new_staff(s, "root", [r.value for r in Role]).id
    world = _world(api, admin_id)
    if "/rules/watch" in path:
        _rule(world)
    url = path.format(**world.params)
    headers = api.staff_token(admin_id) if url.startswith("/api/") else api.open_console(settings, admin_id)
    if method == "GET":
        answer = api.client.get(url, params=payload, headers=headers, follow_redirects=False)
    else:
        answer = api.client.post(url, data=payload, headers=headers, follow_redirects=False)
    assert 400 <= answer.status_code < 500, answer.text[:300]
    if url.startswith("/api/"):
        assert answer.json()["field"] == field
    else:
        assert answer.headers["content-type"].startswith("text/html") and field in answer.text


@ON_SQLITE
@pytest.mark.parametrize("days", ["\u00b2", DIGITS])
def test_a_days_box_no_chosen_action_reads_is_left_alone(api: Api, settings: Settings, days: str) -> None:
    with api.db.session() as s:
        admin_id = _new_staff(s, "root", [r.value for r in Role]).id
    world = _world(api, admin_id)
    decided = api.client.post(f"/cases/{world.params['case_id']}/decide", data=DECIDE | {"days": days},
                              headers=api.open_console(settings, admin_id), follow_redirects=False)
    assert decided.status_code == 303, decided.text[:300]


@ON_SQLITE
def test_a_search_for_a_digit_that_is_not_a_number_finds_nothing(api: Api, settings: Settings) -> None:
    with api.db.session() as s:
        admin_id = _new_staff(s, "root", [r.value for r in Role]).id
    answer = api.client.get("/api/v1/search", params={"q": "\u00b2"}, headers=api.staff_token(admin_id))
    assert answer.status_code == 200, answer.text[:300]
    console = api.client.get("/search", params={"q": "\u00b2"}, headers=api.open_console(settings, admin_id))
    assert console.status_code == 200


@pytest.mark.parametrize(("text", "number"), [
    ("42", 42), (" -7 ", -7), ("0", 0), ("9223372036854775807", 2**63 - 1),
    ("9223372036854775808", None), ("\u00b2", None), ("\u0663", None), ("--5", None), ("1_000", None), ("+5", None), ("", None),
    (DIGITS, None),
])
def test_a_whole_number_is_ascii_digits_within_64_bits(text: str, number: int | None) -> None:
    assert whole_number(text) == number
