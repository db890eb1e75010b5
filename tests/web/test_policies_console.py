"""The policy catalogue in the console: readable by all staff, versioned edits by admins only,
through a form whose errors keep the admin's edits and whose unchanged saves make no version."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pyotp
from markupsafe import escape
from sqlalchemy import func, select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.config import Settings
from trustdesk.store.models import AuditEvent, Policy

SPAM_FORM = {"title": "Spam and fake engagement", "severity": "3", "allowed_actions": ["remove", "warn", "strike", "ban"],
             "dsa_category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "dsa_keywords": ["KEYWORD_INAUTHENTIC_ACCOUNTS"]}


def _login(api: Api, settings: Settings, username: str, roles: list[str]) -> str:
    with api.db.session() as s:
        user = staff.create_user(s, Actor("test", "setup"), settings, username=username, password="correct horse battery", roles=roles)
        code = pyotp.TOTP(user.totp_secret).now() if user.totp_secret else ""
    r = api.log_in(username, "correct horse battery", code)
    assert r.status_code == 303, r.text
    page = api.client.get("/policies/SPAM").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _current(api: Api, code: str = "SPAM") -> Policy:
    with api.db.reader() as s:
        return s.execute(select(Policy).where(Policy.code == code, Policy.is_current.is_(True))).scalar_one()


def _form_as_shown(page: str) -> dict[str, Any]:
    """What a browser sends back for the form as the page shows it (textareas with CRLF line ends)."""
    def textarea(name: str) -> str:
        return html.unescape(re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S).group(1)).replace("\n", "\r\n")

    def selected(name: str) -> list[str]:
        select_ = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
        return re.findall(r'<option value="([^"]+)"[^>]*selected', select_)

    return {
        "title": html.unescape(re.search(r'name="title" value="([^"]*)"', page).group(1)),
        "severity": re.search(r'name="severity" type="number" min="1" max="5" value="(\d)"', page).group(1),
        "allowed_actions": re.findall(r'name="allowed_actions" value="([^"]+)" checked', page),
        "dsa_category": selected("dsa_category")[0], "dsa_keywords": selected("dsa_keywords"),
        "ncmec_incident_type": "", "description": textarea("description"), "guidance": textarea("guidance"),
        "decision_tree": textarea("decision_tree"),
    }


def test_admin_publishes_a_new_version_and_the_old_one_stays(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    assert "Scams and fraud" in api.client.get("/policies").text
    r = api.client.post("/policies/SPAM", data={"csrf_token": csrf} | SPAM_FORM, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/policies/SPAM?published=1", r.text
    assert "Published version 2" in api.client.get(r.headers["location"]).text
    with api.db.reader() as s:
        versions = s.execute(select(Policy).where(Policy.code == "SPAM").order_by(Policy.version)).scalars().all()
        assert [(v.version, v.is_current, v.severity, v.from_catalogue) for v in versions] == [(1, False, 2, True), (2, True, 3, False)]
        assert versions[1].allowed_actions == ["remove", "warn", "strike", "ban"]
        # Fields the post left out keep their values: the written tree and texts stay.
        assert (versions[1].decision_tree, versions[1].guidance) == (versions[0].decision_tree, versions[0].guidance)
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.object_id == "SPAM@2")).scalar_one() == "policy.versioned"


def test_saving_the_form_unchanged_makes_no_version(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    shown = _form_as_shown(api.client.get("/policies/SCAM").text)
    assert "\r\n" in shown["guidance"] and shown["dsa_keywords"] == ["KEYWORD_PHISHING"]
    r = api.client.post("/policies/SCAM", data={"csrf_token": csrf} | shown, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/policies/SCAM?unchanged=1"
    assert "no new version was made: version 1 is still current" in api.client.get(r.headers["location"]).text
    with api.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Policy).where(Policy.code == "SCAM")).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.verb == "policy.versioned")).scalar_one() == 0
    edited = shown | {"guidance": shown["guidance"] + "\r\nAsk for the payment reference."}
    r = api.client.post("/policies/SCAM", data={"csrf_token": csrf} | edited, follow_redirects=False)
    assert r.headers["location"] == "/policies/SCAM?published=1"
    assert _current(api, "SCAM").guidance.endswith("\nAsk for the payment reference.")


def test_bad_edits_are_refused_next_to_the_field_keeping_the_edits(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    base = {"csrf_token": csrf, "title": "Spam (edited title)", "severity": "2", "allowed_actions": ["remove"],
            "dsa_category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "description": "Bulk junk & <b>bots</b>", "guidance": "Line one"}
    for change, field in (({"severity": "9"}, "severity"), ({"severity": "x"}, "severity"),
                          ({"dsa_category": "NOPE"}, "dsa_category"), ({"allowed_actions": []}, "allowed_actions"),
                          ({"allowed_actions": ["explode"]}, "allowed_actions"), ({"title": ""}, "title"),
                          ({"dsa_keywords": ["KEYWORD_HATE_SPEECH"]}, "dsa_keywords"),
                          ({"ncmec_incident_type": "Something else"}, "ncmec_incident_type"),
                          ({"decision_tree": "[1, 2]"}, "decision_tree"),
                          ({}, "decision_tree.nodes.advert.answers[0].outcome.actions")):  # the kept tree warns
        r = api.client.post("/policies/SPAM", data=base | change)
        assert r.status_code == 422 and f"{field}:" in r.text, (change, r.status_code)
        assert f'id="error-{field.split(".")[0]}"' in r.text, change  # the message sits next to its field
        assert 'value="Spam (edited title)"' in r.text or field == "title"
        assert "Bulk junk &amp; &lt;b&gt;bots&lt;/b&gt;</textarea>" in r.text  # the edits are kept, escaped
    r = api.client.post("/policies/SPAM", data=base | {"dsa_keywords": ["KEYWORD_HATE_SPEECH"]})
    assert "KEYWORD_HATE_SPEECH is not a keyword of STATEMENT_CATEGORY_SCAMS_AND_FRAUD" in r.text
    assert _current(api).version == 1


def test_the_keyword_picker_knows_each_keywords_category(api: Api, settings: Settings) -> None:
    _login(api, settings, "root", ["admin"])
    page = api.client.get("/policies/SPAM").text
    assert '<option value="KEYWORD_INAUTHENTIC_ACCOUNTS" data-category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD" selected>' in page
    assert '<option value="KEYWORD_HATE_SPEECH" data-category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH" >' in page
    assert '<option value="KEYWORD_OTHER" data-category="" >' in page  # fits every category
    assert '<script src="/static/policy_form.js" defer></script>' in page
    assert "option.hidden = !fits" in api.client.get("/static/policy_form.js").text


def test_moderator_reads_description_guidance_and_tree_but_cannot_publish(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "mod", ["moderator"])
    page = api.client.get("/policies/COUNTERFEIT").text
    assert "Publish version" not in page
    assert "Fakes and replicas sold under a brand" in page and "<li>Genuine second-hand goods are allowed" in page
    assert "replica" in page and "Is the price far below" in page
    r = api.client.post("/policies/SPAM", data={"csrf_token": csrf, "title": "x", "severity": "1"})
    assert r.status_code == 403


def test_admin_edits_the_decision_tree_and_a_broken_one_is_refused_naming_the_node(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    assert "Is it repeated or mass-sent" in api.client.get("/policies/SPAM").text
    base = {"csrf_token": csrf} | SPAM_FORM
    tree = {"start": "q", "nodes": {"q": {"question": "Is it bulk unsolicited?", "help": "Search the text.", "answers": [
        {"label": "Yes", "outcome": {"verdict": "violation", "actions": ["remove"], "note": "Check the network."}},
        {"label": "No", "outcome": {"verdict": "no_violation"}}]}}}
    forbidden = json.loads(json.dumps(tree))
    forbidden["nodes"]["q"]["answers"][0]["outcome"]["actions"] = ["demonetise"]
    dangling = json.loads(json.dumps(tree))
    dangling["nodes"]["q"]["answers"][1] = {"label": "Maybe", "next": "nowhere"}
    for text, expected in (("{oops", "decision_tree: not valid JSON"),
                           (json.dumps(forbidden), "decision_tree.nodes.q.answers[0].outcome.actions: demonetise not allowed under SPAM"),
                           (json.dumps(dangling), "decision_tree.nodes.q.answers[1].next: no node &#39;nowhere&#39;")):
        r = api.client.post("/policies/SPAM", data=base | {"decision_tree": text})
        assert r.status_code == 422 and expected in r.text, r.text[-3000:]
        assert 'id="error-decision_tree"' in r.text and str(escape(text)) in r.text
    r = api.client.post("/policies/SPAM", data=base | {"decision_tree": json.dumps(tree)}, follow_redirects=False)
    assert r.status_code == 303
    current = _current(api)
    assert current.version == 2 and current.decision_tree == tree
