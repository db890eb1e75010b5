"""Rules through the API and the console: admins save versions and switch modes, seniors read,
moderators are refused; a refused console save keeps every edit; the backtest page shows the
replay's numbers; a case shows the rules that hit its subject and the expressions that failed."""

from __future__ import annotations

import html
import re
from typing import Any

from markupsafe import escape
from sqlalchemy import select

from tests.web.office import Office
from trustdesk.store.models import AuditEvent, Case, Subject

RULE = {"name": "look_here", "mode": "shadow", "expression": "subject.text.contains('look')",
        "effects": [{"type": "label", "label": "looked"}]}


def _case_of(office: Office, external_id: str) -> Case:
    with office.api.db.reader() as s:
        subject_id = s.execute(select(Subject.id).where(Subject.external_id == external_id)).scalar_one()
        return s.execute(select(Case).where(Case.subject_id == subject_id)).scalar_one()


def _shown(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', page, re.S)
    assert found, testid
    return html.unescape(found.group(1)).strip()


def test_admins_save_versions_through_the_api_and_refusals_name_the_field(office: Office) -> None:
    created = office.call("root", "POST", "/api/v1/rules", RULE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["version"], body["mode"], body["changed"], body["source"]) == ("look_here", 1, "shadow", True, "api")
    assert body["effects"] == [{"type": "label", "label": "looked"}]
    same = office.call("root", "POST", "/api/v1/rules", RULE)
    assert same.status_code == 200 and (same.json()["version"], same.json()["changed"]) == (1, False)
    changed = office.call("root", "POST", "/api/v1/rules", RULE | {"expression": "subject.text.contains('at')"})
    assert changed.status_code == 200 and (changed.json()["version"], changed.json()["changed"]) == (2, True)
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"effects": [{"type": "route", "queue": "Nowhere"}]}, "effects[0].queue"),
        ({"effects": [{"type": "label", "label": "Not A Label"}]}, "effects[0].label"),
        ({"expression": "subject.txt == ''"}, "expression"),
        ({"name": "Bad Name"}, "name"),
        ({"mode": "loud"}, "mode"),
        ({"colour": "red"}, "colour"),
    ]
    for change, field in refusals:
        refused = office.call("root", "POST", "/api/v1/rules", RULE | change)
        assert (refused.status_code, refused.json()["field"]) == (422, field), (change, refused.text)
    assert office.call("sue", "POST", "/api/v1/rules", RULE).status_code == 403
    assert office.call("mia", "GET", "/api/v1/rules").status_code == 403

    listed = office.call("sue", "GET", "/api/v1/rules")
    assert listed.status_code == 200
    assert [(r["name"], r["version"], r["expression"]) for r in listed.json()] == [("look_here", 2, "subject.text.contains('at')")]
    one = office.call("sue", "GET", "/api/v1/rules/look_here")
    assert one.status_code == 200
    assert [(v["version"], v["created_by"], v["source"]) for v in one.json()["versions"]] == [(2, "staff:root", "api"), (1, "staff:root", "api")]
    assert office.call("sue", "GET", "/api/v1/rules/nope").status_code == 404

    live = office.call("root", "POST", "/api/v1/rules/look_here/mode", {"mode": "live"})
    assert live.status_code == 200 and (live.json()["version"], live.json()["mode"], live.json()["changed"]) == (3, "live", True)
    assert office.call("root", "POST", "/api/v1/rules/look_here/mode", {"mode": "loud"}).json()["field"] == "mode"
    assert office.call("root", "POST", "/api/v1/rules/nope/mode", {"mode": "live"}).status_code == 404
    with office.api.db.reader() as s:
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.verb.like("rule.%"))).scalars().all() == ["rule.saved"] * 3


def test_the_api_backtests_a_saved_version_and_a_draft(office: Office) -> None:
    assert office.call("root", "POST", "/api/v1/rules", RULE | {"mode": "live"}).status_code == 201
    office.report("p1")
    office.report("p2", kind="comment")
    assert office.call("root", "POST", "/api/v1/rules", RULE | {"expression": "false"}).status_code == 200
    saved = office.call("sue", "GET", "/api/v1/rules/look_here/backtest?version=1&since=1d")
    assert saved.status_code == 200, saved.text
    got = saved.json()
    assert (got["version"], got["replayed"], got["matched"], got["recorded"], got["added"], got["dropped"]) == (1, 2, 2, 2, 0, 0)
    assert got["precision"] == {"decided": 0, "violations": 0, "value": None}
    current = office.call("sue", "GET", "/api/v1/rules/look_here/backtest").json()
    assert (current["version"], current["matched"], current["dropped"]) == (2, 0, 2)
    assert {i["subject_id"] for i in current["dropped_items"]} == {_case_of(office, "p1").subject_id, _case_of(office, "p2").subject_id}
    draft = office.call("sue", "POST", "/api/v1/rules/look_here/backtest", RULE | {"expression": "subject.kind == 'comment'"})
    assert draft.status_code == 200, draft.text
    assert (draft.json()["version"], draft.json()["matched"], draft.json()["dropped"]) == (None, 1, 1)
    for method, path, body, status, field in [
        ("GET", "/api/v1/rules/look_here/backtest?version=9", None, 404, "version"),
        ("GET", "/api/v1/rules/look_here/backtest?since=yesterday", None, 422, "since"),
        ("GET", "/api/v1/rules/nope/backtest", None, 404, "name"),
        ("POST", "/api/v1/rules/look_here/backtest", RULE | {"name": "other"}, 422, "name"),
        ("POST", "/api/v1/rules/look_here/backtest", RULE | {"expression": "nobody == 1"}, 422, "expression"),
    ]:
        refused = office.call("sue", method, path, body)
        assert (refused.status_code, refused.json()["field"]) == (status, field), path
    assert office.call("mia", "GET", "/api/v1/rules/look_here/backtest").status_code == 403


FORM = {"name": "look_here", "mode": "shadow", "expression": "subject.text.contains('look')",
        "effects": '[{"type": "label", "label": "looked"}]', "description": "Posts asking to look"}


def test_admins_edit_in_the_console_and_a_refused_save_keeps_every_edit(office: Office) -> None:
    csrf = office.log_in("root")
    assert office.api.client.get("/rules/new").status_code == 200
    typed = FORM | {"effects": '[{"type": "route", "queue": "Nowhere", "priority": 7}]', "description": "kept <b>as typed</b>"}
    refused = office.api.client.post("/rules/new", data={"csrf_token": csrf} | typed)
    assert refused.status_code == 422
    assert "effects[0].queue: no active queue named &#39;Nowhere&#39;" in refused.text
    for value in typed.values():  # every edit is shown again as typed
        assert str(escape(value)) in refused.text, value
    bad_json = office.api.client.post("/rules/new", data={"csrf_token": csrf} | FORM | {"effects": "[{"})
    assert bad_json.status_code == 422 and "effects: not valid JSON" in bad_json.text

    created = office.api.client.post("/rules/new", data={"csrf_token": csrf} | FORM, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/rules/look_here?done=saved"
    assert "Saved as version 1" in office.api.client.get(created.headers["location"]).text
    taken = office.api.client.post("/rules/new", data={"csrf_token": csrf} | FORM)
    assert taken.status_code == 409 and "exists already" in taken.text
    unchanged = office.api.client.post("/rules/look_here", data={"csrf_token": csrf} | FORM | {"effects": '[\r\n{"type": "label", "label": "looked"}]'},
                                       follow_redirects=False)
    assert unchanged.headers["location"] == "/rules/look_here?done=unchanged"
    live = office.api.client.post("/rules/look_here", data={"csrf_token": csrf} | FORM | {"mode": "live"}, follow_redirects=False)
    assert live.status_code == 303 and live.headers["location"] == "/rules/look_here?done=saved"
    page = office.api.client.get("/rules/look_here").text
    assert _shown(page, "mode") == "live"
    versions = re.findall(r"<tr><td>v(\d)</td><td>[^<]+</td><td>([^<]+)</td>\s*<td>(\w+)</td><td>(\w+)</td><td>([^<]+)</td>", page)
    assert versions == [("2", "staff:root", "console", "live", "mode"), ("1", "staff:root", "console", "shadow", "created")]
    listing = office.api.client.get("/rules").text
    assert 'href="/rules/look_here"' in listing and "label looked" in listing and 'href="/rules"' in listing

    office.log_in("mia")
    assert office.api.client.get("/rules/new").status_code == 403
    assert office.api.client.post("/rules/look_here", data={"csrf_token": csrf} | FORM).status_code == 403
    assert office.api.client.get("/rules").status_code == 403
    assert 'href="/rules"' not in office.api.client.get("/").text
    office.log_in("sue")
    read_only = office.api.client.get("/rules/look_here")
    assert read_only.status_code == 200 and 'class="rule-form"' not in read_only.text and "Posts asking to look" in read_only.text


def test_the_backtest_page_shows_the_replay(office: Office) -> None:
    csrf = office.log_in("root")
    assert office.api.client.post("/rules/new", data={"csrf_token": csrf} | FORM | {"mode": "live"}, follow_redirects=False).status_code == 303
    office.report("p1")
    office.report("p2", kind="comment")
    page = office.api.client.get("/rules/look_here/backtest?since=1d")
    assert page.status_code == 200
    numbers = {key: _shown(page.text, key) for key in ("replayed", "matched", "recorded", "added", "dropped", "errors")}
    assert numbers == {"replayed": "2", "matched": "2", "recorded": "2", "added": "0", "dropped": "0", "errors": "0"}
    draft = office.api.client.post("/rules/look_here/backtest", data={"csrf_token": csrf, "since": "1d"} | FORM
                                   | {"expression": "subject.kind == 'post'"})
    assert draft.status_code == 200
    assert (_shown(draft.text, "replayed-version"), _shown(draft.text, "matched"), _shown(draft.text, "dropped")) == ("draft", "1", "1")
    p2 = _case_of(office, "p2").subject_id
    assert f'<a href="/subjects/{p2}">subject {p2}</a>' in draft.text
    broken = office.api.client.post("/rules/look_here/backtest", data={"csrf_token": csrf} | FORM | {"expression": "nobody == 1"})
    assert broken.status_code == 422 and "nobody == 1" in broken.text and "Your edits are kept" in broken.text
    listing = office.api.client.get("/rules").text
    assert (_shown(listing, "live-hits"), _shown(listing, "shadow-hits")) == ("2", "0")


def test_a_case_shows_its_rule_hits_labels_and_evaluation_errors(office: Office) -> None:
    for rule in (RULE | {"mode": "live"}, {"name": "watch_all", "expression": "true"},
                 {"name": "out_of_range", "mode": "shadow", "expression": "signals[0].score > 0.5"}):
        assert office.call("root", "POST", "/api/v1/rules", rule).status_code == 201
    office.report("p1")
    case = _case_of(office, "p1")
    office.log_in("root")
    page = office.api.client.get(f"/cases/{case.id}").text
    card = page[page.index('data-testid="rule-hits"'):]
    hits = re.findall(r'<a href="/rules/(\w+)">\w+</a></td><td>v(\d)</td>\s*<td><span class="pill mode-\w+">(\w+)</span></td><td>(\w+)</td>', card)
    assert sorted(hits) == [("look_here", "1", "live", "report"), ("watch_all", "1", "shadow", "report")]
    assert _shown(page, "label") == "looked"
    errors = re.findall(r"<li class=\"error\">(\w+) <strong>(\w+)</strong>", card)
    assert errors == [("rule", "out_of_range")]
    got = office.call("sue", "GET", f"/api/v1/cases/{case.id}").json()
    assert got["labels"] == ["looked"]
    assert sorted((h["rule"], h["version"], h["mode"], h["trigger"]) for h in got["rule_hits"]) == [
        ("look_here", 1, "live", "report"), ("watch_all", 1, "shadow", "report")]
    assert [(e["source"], e["name"]) for e in got["rule_errors"][0]["errors"]] == [("rule", "out_of_range")]
