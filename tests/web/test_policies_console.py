"""The policy catalogue in the console: readable by all staff, versioned edits by admins only."""

from __future__ import annotations

import json
import re

import pyotp
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.config import Settings
from trustdesk.store.models import AuditEvent, Policy


def _login(api: Api, settings: Settings, username: str, roles: list[str]) -> str:
    with api.db.session() as s:
        user = staff.create_user(s, Actor("test", "setup"), settings, username=username, password="correct horse battery", roles=roles)
        code = pyotp.TOTP(user.totp_secret).now() if user.totp_secret else ""
    r = api.log_in(username, "correct horse battery", code)
    assert r.status_code == 303, r.text
    page = api.client.get("/policies/SPAM").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_admin_publishes_a_new_version_and_the_old_one_stays(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    assert "Scams and fraud" in api.client.get("/policies").text
    form = {"csrf_token": csrf, "title": "Spam and fake engagement", "severity": "3",
            "allowed_actions": ["remove", "warn"], "dsa_category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
            "dsa_keywords": ["KEYWORD_INAUTHENTIC_ACCOUNTS"]}
    r = api.client.post("/policies/SPAM", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with api.db.reader() as s:
        versions = s.execute(select(Policy).where(Policy.code == "SPAM").order_by(Policy.version)).scalars().all()
        assert [(v.version, v.is_current, v.severity) for v in versions] == [(1, False, 2), (2, True, 3)]
        assert versions[1].allowed_actions == ["remove", "warn"]
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.object_id == "SPAM@2")).scalar_one() == "policy.versioned"


def test_bad_edits_are_refused_naming_the_field(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    base = {"csrf_token": csrf, "title": "Spam", "severity": "2", "allowed_actions": ["remove"], "dsa_category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"}
    for change, field in (({"severity": "9"}, "severity"), ({"severity": "x"}, "severity"),
                          ({"dsa_category": "NOPE"}, "dsa_category"), ({"allowed_actions": []}, "allowed_actions"),
                          ({"title": ""}, "title")):
        r = api.client.post("/policies/SPAM", data=base | change)
        assert r.status_code == 422 and f"{field}:" in r.text, (change, r.status_code)
    with api.db.reader() as s:
        assert s.execute(select(Policy.version).where(Policy.code == "SPAM", Policy.is_current.is_(True))).scalar_one() == 1


def test_moderator_reads_but_cannot_publish(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "mod", ["moderator"])
    assert "Publish version" not in api.client.get("/policies/SPAM").text
    r = api.client.post("/policies/SPAM", data={"csrf_token": csrf, "title": "x", "severity": "1"})
    assert r.status_code == 403


def test_admin_edits_the_decision_tree_and_a_broken_one_is_refused(api: Api, settings: Settings) -> None:
    csrf = _login(api, settings, "root", ["admin"])
    assert "Does the content break the policy" in api.client.get("/policies/SPAM").text
    base = {"csrf_token": csrf, "title": "Spam", "severity": "2", "allowed_actions": ["remove", "warn"],
            "dsa_category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"}
    tree = {"start": "q", "nodes": {"q": {"question": "Is it bulk unsolicited?", "answers": [
        {"label": "Yes", "outcome": {"verdict": "violation", "actions": ["remove"]}},
        {"label": "No", "outcome": {"verdict": "no_violation"}}]}}}
    forbidden = {"start": "q", "nodes": {"q": {"question": "?", "answers": [
        {"label": "Yes", "outcome": {"verdict": "violation", "actions": ["ban"]}},
        {"label": "No", "outcome": {"verdict": "no_violation"}}]}}}
    for text, expected in (("{oops", "decision_tree: not valid JSON"), (json.dumps(forbidden), "ban not allowed under SPAM")):
        r = api.client.post("/policies/SPAM", data=base | {"decision_tree": text})
        assert r.status_code == 422 and expected in r.text
    r = api.client.post("/policies/SPAM", data=base | {"decision_tree": json.dumps(tree)}, follow_redirects=False)
    assert r.status_code == 303
    with api.db.reader() as s:
        current = s.execute(select(Policy).where(Policy.code == "SPAM", Policy.is_current.is_(True))).scalar_one()
        assert current.version == 2 and current.decision_tree == tree
