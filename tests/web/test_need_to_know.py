"""Need-to-know: a queue's required roles guard its cases everywhere, in the console and the API.

One child-safety world: a reported photo (with media) and its account, both in the Child
safety queue, an enforcement action on the photo, and accounts linked through a shared IP and
device. Every route that reads or writes those objects is tried by a moderator, a senior and
an admin without the child-safety role, who get the refusal (404, as for something that does
not exist; 403 for the queue's case list, since the queue itself is no secret), and then by
child-safety staff, who get the exact success status.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.demo.images import CONTENT_TYPE, render_photo
from trustdesk.enforcement.actions import apply_action
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.enforcement.strikes import add_strike
from trustdesk.jobs.worker import run_worker
from trustdesk.domain.rules import parse_rule
from trustdesk.replies.templates import seed_reply_templates
from trustdesk.rules.versions import save_rule
from trustdesk.store.models import AuditEvent, BulkItem, Case, Policy, Queue, Report, Subject, utcnow

SETUP = Actor("test", "setup")
SECRET_TEXT = "report text only child-safety staff may read"
SHARED_IP = "203.0.113.50"
PEOPLE = {"mod": ["moderator"], "sen": ["senior"], "admin": ["admin"], "cs": ["child-safety"], "cs-lead": ["senior", "child-safety"]}


@dataclass
class World:
    api: Api
    settings: Settings
    ids: dict[str, int]  # subjects, cases, queues, the action and the staff, by name

    def as_(self, who: str) -> dict[str, str]:
        return self.api.staff_token(self.ids[who])

    def console(self, who: str) -> dict[str, str]:
        return self.api.open_console(self.settings, self.ids[who])

    def call(self, method: str, path: str, headers: dict[str, str], *, json_body: object = None, form: dict[str, object] | None = None) -> tuple[int, str]:
        response = self.api.client.request(method, path.format(**self.ids), headers=headers, json=json_body, data=form,
                                           follow_redirects=False)
        return response.status_code, response.text

    def hold(self, case: str, who: str) -> None:
        with self.api.db.session() as s:
            s.execute(update(Case).where(Case.id == self.ids[case]).values(
                claimed_by=self.ids[who], lease_until=utcnow() + timedelta(minutes=5)))


@pytest.fixture
def world(api: Api, settings: Settings) -> World:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        seed_reply_templates(s, SETUP)  # so the refused replies name a template that exists
        people = {name: staff.create_user(s, SETUP, settings, username=name, password="long enough password", roles=roles,
                                          with_totp=False).id for name, roles in PEOPLE.items()}
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-cs", "kind": "account", "personal": {"email": "suspect@example.org"}},
        {"external_id": "photo-cs", "kind": "photo", "account_external_id": "acc-cs"},
        {"external_id": "acc-other", "kind": "account"},
        {"external_id": "acc-third", "kind": "account"},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc-other", "text": "buy followers"},
    ]})
    assert r.status_code == 200, r.text
    media = api.client.post("/api/v1/subjects/photo-cs/media", files={"file": ("p.jpg", render_photo(3), CONTENT_TYPE)}, headers=api.auth)
    assert media.status_code == 200, media.text
    events = [(f"e{i}", account, ip) for i, (account, ip) in enumerate([
        ("acc-cs", SHARED_IP), ("acc-other", SHARED_IP), ("acc-other", "198.51.100.7"), ("acc-third", "198.51.100.7")])]
    r = api.post("/api/v1/account-events/batch", {"items": [
        {"external_id": ext, "account_external_id": account, "kind": "login", "occurred_at": "2026-01-02T03:04:05Z", "ip": ip,
         "device_id": "device-42" if account in ("acc-cs", "acc-other") else None} for ext, account, ip in events]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "r-photo", "subject_external_id": "photo-cs", "policy_code": "CSAM", "reporter_type": "anonymous", "text": SECRET_TEXT},
        {"external_id": "r-acc", "subject_external_id": "acc-cs", "policy_code": "CHILD_GROOMING", "reporter_type": "anonymous", "text": SECRET_TEXT},
        {"external_id": "r-post", "subject_external_id": "post-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
    ]})
    assert r.status_code == 200, r.text
    with api.db.session() as s:
        subjects = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
        queues = {q.name: q.id for q in s.execute(select(Queue)).scalars()}
        cases = {c.subject_id: c for c in s.execute(select(Case)).scalars()}
        assert {cases[subjects["photo-cs"]].queue_id, cases[subjects["acc-cs"]].queue_id} == {queues["Child safety"]}
        action = apply_action(s, SETUP, s.get_one(Subject, subjects["photo-cs"]), "restrict_visibility").action
        ids = subjects | {"photo-case": cases[subjects["photo-cs"]].id, "acc-case": cases[subjects["acc-cs"]].id,
                          "post-case": cases[subjects["post-1"]].id, "cs-queue": queues["Child safety"], "action": action.id}
    return World(api, settings, ids | people)


DECISION = {"policy_code": "CSAM", "verdict": "violation", "actions": ["remove"], "rationale": "confirmed"}

# (who, method, path, json or form body, refusal) tried in order; none of them may change anything.
API_REFUSALS = [
    ("mod", "GET", "/api/v1/cases/{photo-case}", None, 404),
    ("mod", "GET", "/api/v1/cases/{photo-case}/decisions", None, 404),
    ("mod", "POST", "/api/v1/cases/{photo-case}/comments", {"body": "let me see"}, 404),
    ("mod", "POST", "/api/v1/cases/{photo-case}/renew", None, 404),
    ("mod", "POST", "/api/v1/cases/{photo-case}/release", None, 404),
    ("mod", "POST", "/api/v1/cases/{photo-case}/decision", DECISION, 404),
    ("mod", "POST", "/api/v1/cases/{photo-case}/imminent-harm", {"reason": "made up"}, 404),
    ("mod", "GET", "/api/v1/queues/{cs-queue}/cases", None, 403),
    ("mod", "POST", "/api/v1/queues/{cs-queue}/step-out", None, 403),
    ("mod", "GET", "/api/v1/cases/{photo-case}/replies", None, 404),
    ("mod", "GET", "/api/v1/cases/{photo-case}/reply-draft?template_id=1", None, 404),
    ("mod", "POST", "/api/v1/cases/{photo-case}/replies", {"template_id": 1, "locale": "en", "body": "x", "delivery": "sent"}, 404),
    ("admin", "GET", "/api/v1/cases/{photo-case}", None, 404),
    ("admin", "GET", "/api/v1/queues/{cs-queue}/cases", None, 403),
    ("sen", "POST", "/api/v1/cases/{photo-case}/assign", {"staff_id": None}, 404),
    ("sen", "GET", "/api/v1/subjects/{acc-cs}/cascade", None, 404),
    ("sen", "POST", "/api/v1/subjects/{photo-cs}/decision", DECISION, 404),
    ("sen", "POST", "/api/v1/actions/{action}/undo", None, 404),
]
CONSOLE_REFUSALS = [
    ("mod", "GET", "/cases/{photo-case}", None, 404),
    ("mod", "GET", "/cases/{photo-case}/decision", None, 404),
    ("mod", "POST", "/cases/{photo-case}/comments", {"body": "let me see"}, 404),
    ("mod", "POST", "/cases/{photo-case}/renew", None, 404),
    ("mod", "POST", "/cases/{photo-case}/decide", {"policy_code": "CSAM", "answers": ["0", "0"], "rationale": "x"}, 404),
    ("mod", "POST", "/cases/{photo-case}/imminent-harm", {"reason": "made up"}, 404),
    ("mod", "GET", "/cases/{photo-case}/reply", None, 404),
    ("mod", "POST", "/cases/{photo-case}/replies", {"template_id": "1", "locale": "en", "body": "x", "delivery": "sent"}, 404),
    ("mod", "GET", "/queues/{cs-queue}", None, 403),
    ("mod", "GET", "/subjects/{photo-cs}", None, 404),
    ("mod", "GET", "/subjects/{photo-cs}/media", None, 404),
    ("mod", "GET", "/subjects/{acc-cs}", None, 404),
    ("mod", "POST", "/subjects/{acc-cs}/reveal", {"reason": "curious"}, 404),
    ("admin", "GET", "/cases/{photo-case}", None, 404),
    ("admin", "GET", "/subjects/{photo-cs}/media", None, 404),
    ("sen", "POST", "/cases/{photo-case}/assign", {"staff_id": ""}, 404),
    ("sen", "GET", "/subjects/{acc-cs}/cascade", None, 404),
    ("sen", "POST", "/subjects/{acc-cs}/cascade", {"kind": "cascade_takedown", "policy_code": "CSAM", "rationale": "x"}, 404),
    ("sen", "GET", "/actions/{action}", None, 404),
    ("sen", "POST", "/actions/{action}/undo", None, 404),
]


def test_staff_without_the_queues_role_are_refused_everywhere(world: World) -> None:
    world.hold("photo-case", "mod")  # even a claim left over from before does not let them in
    with world.api.db.session() as s:
        s.execute(update(Case).where(Case.id == world.ids["acc-case"]).values(assigned_to=world.ids["mod"]))
    wrong = []
    for who, method, path, body, refusal in API_REFUSALS:
        status, text = world.call(method, path, world.as_(who), json_body=body)
        if status != refusal or SECRET_TEXT in text:
            wrong.append((who, method, path, status, text[:120]))
    for who, method, path, body, refusal in CONSOLE_REFUSALS:
        status, text = world.call(method, path, world.console(who), form=body)
        if status != refusal or SECRET_TEXT in text:
            wrong.append((who, method, path, status, text[:120]))
    assert wrong == []

    # An old assignment does not serve the case through "next case": the moderator gets the spam case.
    claim = world.api.client.post("/api/v1/cases/next", headers=world.as_("mod"))
    assert claim.status_code == 200 and claim.json()["case"]["id"] == world.ids["post-case"]
    # Nothing changed: the cases are as they were, with no comment, decision or flag.
    with world.api.db.reader() as s:
        photo = s.get_one(Case, world.ids["photo-case"])
        assert (photo.status, photo.imminent_harm, photo.queue_id) == ("open", False, world.ids["cs-queue"])
        verbs = set(s.execute(select(AuditEvent.verb)).scalars())
    assert not verbs & {"case.commented", "decision.made", "case.reply_copied", "case.reply_sent", "notice.queued", "case.assigned", "case.imminent_harm_flagged", "action.undone",
                        "subject.personal_revealed", "subject.sensitive_media_opened"}


def test_a_senior_cannot_assign_a_restricted_case_to_someone_without_the_role(world: World) -> None:
    lead = world.as_("cs-lead")
    refused = world.api.client.post(f"/api/v1/cases/{world.ids['photo-case']}/assign", json={"staff_id": world.ids["mod"]}, headers=lead)
    assert refused.status_code == 422 and refused.json()["field"] == "staff_id"
    page = world.api.client.post(f"/cases/{world.ids['photo-case']}/assign", data={"staff_id": str(world.ids["mod"])},
                                 headers=world.console("cs-lead"))
    assert page.status_code == 422 and "may not work the Child safety queue" in page.text
    queue_page = world.api.client.get(f"/queues/{world.ids['cs-queue']}").text
    assignees = queue_page.split('name="staff_id"', 1)[1].split("</select>", 1)[0]
    assert "cs-lead" in assignees and ">cs<" in assignees and ">mod<" not in assignees


def test_the_bulk_worker_refuses_a_restricted_subject_like_a_missing_one(world: World) -> None:
    body = {"subject_ids": [world.ids["photo-cs"], 999_999], "decision": {**DECISION, "policy_code": "CSAM"}}
    ops = {}
    for who in ("sen", "cs-lead"):
        r = world.api.client.post("/api/v1/bulk", json=body, headers=world.as_(who))
        assert r.status_code == 202, r.text
        ops[who] = r.json()["id"]
    run_worker(world.api.db, world.settings, worker_id="w", once=True)
    run_worker(world.api.db, world.settings, worker_id="w", once=True)
    with world.api.db.reader() as s:
        items = {(i.operation_id, i.position): (i.subject_id, i.status, i.detail) for i in s.execute(select(BulkItem)).scalars()}
    photo = world.ids["photo-cs"]
    assert items[(ops["sen"], 0)] == (None, "failed", f"no subject {photo}")  # exactly as for a subject that does not exist
    assert items[(ops["sen"], 1)] == (None, "failed", "no subject 999999")
    assert items[(ops["cs-lead"], 0)] == (photo, "applied", None)
    # Another enforcer reading the child-safety lead's operation sees its outcomes, not its subjects.
    listed = world.api.client.get(f"/api/v1/bulk/{ops['cs-lead']}/items", headers=world.as_("sen")).json()["items"]
    assert listed[0] == {"position": 0, "reference": None, "subject_id": None, "status": "applied", "detail": None, "decision_id": None}


def test_the_queue_list_and_home_show_counts_but_no_content(world: World) -> None:
    headers = world.console("mod")
    queues = world.api.client.get("/queues", headers=headers)
    assert queues.status_code == 200 and f'href="/queues/{world.ids["cs-queue"]}"' not in queues.text
    assert 'data-testid="restricted"' in queues.text
    listed = {q["name"]: q["open"] for q in world.api.client.get("/api/v1/queues", headers=world.as_("mod")).json()}
    assert listed["Child safety"] == 2
    home = world.api.client.get("/", headers=headers)
    assert home.status_code == 200 and SECRET_TEXT not in home.text


def test_the_home_pages_activity_is_ones_own_except_for_admins(world: World) -> None:
    """The audit log names child-safety, legal and privacy work: a moderator's home shows their own steps."""
    world.console("mod")
    assert world.call("POST", "/api/v1/cases/{post-case}/comments", world.as_("mod"), json_body={"body": "looking"})[0] == 201
    for page in ("/", "/home/counts"):
        status, text = world.call("GET", page, {})
        activity = text[text.index("recent activity</h2>"):]
        assert status == 200 and "Your recent activity" in text
        assert "case.commented" in activity and "action.applied" not in activity and "case.opened" not in activity
    world.console("admin")
    status, text = world.call("GET", "/", {})
    activity = text[text.index("Recent activity</h2>"):]
    assert status == 200 and "case.commented" in activity and "action.applied" in activity


def test_child_safety_staff_get_every_one_of_those_with_the_exact_success_status(world: World) -> None:
    cs, lead = world.as_("cs"), world.as_("cs-lead")
    case = "/api/v1/cases/{photo-case}"
    steps: list[tuple[dict[str, str], str, str, object, int]] = [
        (lead, "POST", case + "/assign", {"staff_id": world.ids["cs"]}, 200),
        (cs, "POST", "/api/v1/cases/next", None, 200),  # the assigned case comes first
        (cs, "GET", case, None, 200),
        (cs, "GET", case + "/decisions", None, 200),
        (cs, "POST", case + "/comments", {"body": "seen"}, 201),
        (cs, "POST", case + "/renew", None, 200),
        (cs, "POST", case + "/release", None, 204),
        (cs, "POST", "/api/v1/cases/next", None, 200),
        (cs, "GET", "/api/v1/queues/{cs-queue}/cases", None, 200),
        (cs, "POST", case + "/decision", DECISION, 201),
        (cs, "POST", "/api/v1/cases/{acc-case}/imminent-harm", {"reason": "arranging to meet a child"}, 200),
        (lead, "GET", "/api/v1/subjects/{acc-cs}/cascade", None, 200),
        (lead, "POST", "/api/v1/actions/{action}/undo", None, 200),
        (lead, "POST", "/api/v1/subjects/{acc-cs}/decision", {**DECISION, "policy_code": "CHILD_GROOMING", "actions": ["ban"]}, 201),
    ]
    got = [(method, path, world.call(method, path, headers, json_body=body)[0], status) for headers, method, path, body, status in steps]
    assert [g for g in got if g[2] != g[3]] == []
    with world.api.db.reader() as s:
        assert s.get_one(Case, world.ids["photo-case"]).status == "decided"


def test_child_safety_staff_get_the_console_pages(world: World) -> None:
    world.hold("photo-case", "cs")
    steps = [
        ("cs", "GET", "/cases/{photo-case}", None, 200),
        ("cs", "GET", "/cases/{photo-case}/decision", None, 200),
        ("cs", "POST", "/cases/{photo-case}/comments", {"body": "seen"}, 200),
        ("cs", "POST", "/cases/{photo-case}/renew", None, 200),
        ("cs", "GET", "/queues/{cs-queue}", None, 200),
        ("cs", "GET", "/subjects/{photo-cs}", None, 200),
        ("cs", "GET", "/subjects/{photo-cs}/media", None, 200),
        ("cs", "POST", "/subjects/{acc-cs}/reveal", {"reason": "preparing the NCMEC report"}, 200),
        ("cs", "POST", "/cases/{photo-case}/decide", {"policy_code": "CSAM", "answers": ["0", "0"], "actions": ["remove"], "rationale": "confirmed"}, 303),
        ("cs-lead", "GET", "/subjects/{acc-cs}/cascade", None, 200),
        ("cs-lead", "GET", "/actions/{action}", None, 200),
        ("cs-lead", "POST", "/actions/{action}/undo", None, 200),
        ("cs-lead", "POST", "/cases/{acc-case}/assign", {"staff_id": ""}, 303),
        ("cs", "POST", "/cases/{acc-case}/imminent-harm", {"reason": "arranging to meet a child"}, 303),
    ]
    got = [(method, path, world.call(method, path, world.console(who), form=body)[0], status) for who, method, path, body, status in steps]
    assert [g for g in got if g[2] != g[3]] == []


def test_identifiers_shared_with_related_accounts_are_hidden_until_an_audited_reveal(world: World) -> None:
    # The moderator's spam case: acc-other shares an IP with acc-third, and an IP and a device with acc-cs.
    file = world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("mod")).json()
    assert [(link["account"]["external_id"], link["shared"]) for link in file["linked_accounts"]] == [("acc-third", {"ip": 1})]
    assert SHARED_IP not in json.dumps(file) and "198.51.100.7" not in json.dumps(file)  # acc-cs is child-safety's
    lead = world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("cs-lead")).json()
    assert {link["account"]["external_id"]: link["shared"] for link in lead["linked_accounts"]} == {
        "acc-cs": {"device_id": 1, "ip": 1}, "acc-third": {"ip": 1}}

    headers = world.console("mod")
    page = world.api.client.get(f"/cases/{world.ids['post-case']}", headers=headers)
    assert page.status_code == 200 and "shares ip (1)" in page.text and "198.51.100.7" not in page.text
    account = world.api.client.get(f"/subjects/{world.ids['acc-other']}", headers=headers)
    assert "Personal data (device id, ip) is hidden." in account.text and SHARED_IP not in account.text
    revealed = world.api.client.post(f"/subjects/{world.ids['acc-other']}/reveal", data={"reason": "linked scam accounts"}, headers=headers)
    assert revealed.status_code == 200 and SHARED_IP in revealed.text and "198.51.100.7" in revealed.text and "device-42" in revealed.text
    with world.api.db.reader() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "subject.personal_revealed")).scalar_one()
    assert (event.actor_id, event.object_id, event.after) == (
        "mod", str(world.ids["acc-other"]), {"fields": ["device_id", "ip"], "reason": "linked scam accounts"})


def test_a_strike_from_a_decision_on_a_hidden_item_counts_but_its_policy_is_not_named(world: World) -> None:
    """acc-other is no secret, but a photo of it sits in the child-safety queue: the strike its
    removal gave counts for everyone, and only child-safety staff see which policy it was under."""
    assert world.api.post("/api/v1/subjects", {"external_id": "photo-other", "kind": "photo", "account_external_id": "acc-other"}).status_code == 201
    r = world.api.post("/api/v1/reports", {"external_id": "r-other", "subject_external_id": "photo-other", "policy_code": "CSAM",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with world.api.db.session() as s:
        photo = s.execute(select(Subject).where(Subject.external_id == "photo-other")).scalar_one()
        decision = decide_subject(s, SETUP, photo.id, DecisionRequest("CSAM", verdict="violation", actions=["remove"], rationale="confirmed"))
        add_strike(s, SETUP, world.ids["acc-other"], s.get_one(Policy, decision.policy_id), decision.id)
    seen = {}
    for who in ("mod", "cs"):
        world.console(who)
        status, page = world.call("GET", "/subjects/{acc-other}", {})
        assert status == 200
        seen[who] = re.search(r"<h2>Active strikes \(1\)</h2>.*?</table>", page, re.S).group(0)  # type: ignore[union-attr]
    assert "a policy on an item you may not see" in seen["mod"] and "CSAM" not in seen["mod"]
    assert "CSAM" in seen["cs"] and "a policy on an item you may not see" not in seen["cs"]
    for who in ("mod", "cs"):  # the account's history: the strike was added, under which policy only for child-safety staff
        world.console(who)
        page = world.call("GET", "/subjects/{acc-other}", {})[1]
        seen[who] = page[page.index("<h2>History"):]
    assert "about an item you may not see" in seen["mod"] and "CSAM" not in seen["mod"]
    assert "CSAM" in seen["cs"] and "about an item you may not see" not in seen["cs"]


def _case_of_report(world: World, external_id: str) -> int:
    with world.api.db.reader() as s:
        return s.execute(select(Report.case_id).where(Report.external_id == external_id)).scalar_one()


def test_a_child_safety_report_joining_a_general_case_takes_it_out_of_general_sight(world: World) -> None:
    assert world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("mod")).status_code == 200
    r = world.api.post("/api/v1/reports", {"external_id": "r-post-cs", "subject_external_id": "post-1", "policy_code": "CSAM",
                                           "reporter_type": "anonymous", "text": "JOIN " + SECRET_TEXT})
    assert r.status_code == 201, r.text
    assert _case_of_report(world, "r-post-cs") == world.ids["post-case"]
    with world.api.db.reader() as s:
        assert s.get_one(Case, world.ids["post-case"]).queue_id == world.ids["cs-queue"]
    for who in ("mod", "sen", "admin"):
        assert world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_(who)).status_code == 404, who
        world.console(who)
        assert world.call("GET", "/cases/{post-case}", {})[0] == 404, who
    seen = world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("cs"))
    assert seen.status_code == 200 and "JOIN " + SECRET_TEXT in seen.text


def test_a_decided_case_stays_out_of_sight_once_its_subject_is_reported_to_a_hidden_queue(world: World) -> None:
    with world.api.db.session() as s:
        decide_subject(s, SETUP, world.ids["post-1"], DecisionRequest("SPAM", verdict="violation", actions=["remove"], rationale="spam"))
    assert world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("mod")).status_code == 200
    r = world.api.post("/api/v1/reports", {"external_id": "r-post-cs", "subject_external_id": "post-1", "policy_code": "CSAM",
                                           "reporter_type": "anonymous", "text": "LATER " + SECRET_TEXT})
    assert r.status_code == 201, r.text
    assert _case_of_report(world, "r-post-cs") != world.ids["post-case"]
    assert world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("mod")).status_code == 404
    found = world.api.client.get("/api/v1/search", params={"q": str(world.ids["post-case"]), "kind": "case"}, headers=world.as_("mod"))
    assert found.status_code == 200 and found.json()["hits"] == []
    seen = world.api.client.get(f"/api/v1/cases/{world.ids['post-case']}", headers=world.as_("cs"))
    assert seen.status_code == 200 and "LATER " + SECRET_TEXT in seen.text  # its staff see the open report beside the old case
    found = world.api.client.get("/api/v1/search", params={"q": str(world.ids["post-case"]), "kind": "case"}, headers=world.as_("cs"))
    assert [hit["id"] for hit in found.json()["hits"]] == [world.ids["post-case"]]


def test_a_privacy_request_alone_does_not_hide_a_subject_from_search(world: World) -> None:
    r = world.api.post("/api/v1/privacy-requests", {"external_id": "dsr-2", "subject_external_id": "acc-other", "regime": "gdpr",
                                                    "request_type": "access", "requester_name": "O", "requester_contact": "o@example.org",
                                                    "received_on": "2026-12-01"})
    assert r.status_code == 201, r.text
    found = world.api.client.get("/api/v1/search", params={"q": "acc-other", "kind": "subject"}, headers=world.as_("mod"))
    assert found.status_code == 200 and [hit["id"] for hit in found.json()["hits"]] == [world.ids["acc-other"]]


def test_a_general_case_does_not_name_an_author_hidden_from_its_reviewer_nor_their_links(world: World) -> None:
    assert world.api.post("/api/v1/subjects", {"external_id": "post-cs", "kind": "post", "account_external_id": "acc-cs",
                                               "text": "selling stickers"}).status_code == 201
    r = world.api.post("/api/v1/reports", {"external_id": "r-post-spam", "subject_external_id": "post-cs", "policy_code": "SPAM",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    case_id = _case_of_report(world, "r-post-spam")
    seen = world.api.client.get(f"/api/v1/cases/{case_id}", headers=world.as_("mod"))
    assert seen.status_code == 200, seen.text
    assert seen.json()["linked_accounts"] == [] and "acc-cs" not in seen.text
    world.console("mod")
    status, page = world.call("GET", f"/cases/{case_id}", {})
    assert status == 200 and "acc-cs" not in page and "selling stickers" in page
    lead = world.api.client.get(f"/api/v1/cases/{case_id}", headers=world.as_("cs-lead")).json()
    assert [link["account"]["external_id"] for link in lead["linked_accounts"]] == ["acc-other"]
    world.console("cs-lead")
    assert "acc-cs" in world.call("GET", f"/cases/{case_id}", {})[1]


def test_a_privacy_case_about_a_child_safety_subject_shows_no_child_safety_report(world: World) -> None:
    with world.api.db.session() as s:
        privacy = staff.create_user(s, SETUP, world.settings, username="priv", password="long enough password", roles=["privacy"],
                                    with_totp=False).id
    r = world.api.post("/api/v1/privacy-requests", {"external_id": "dsr-1", "subject_external_id": "acc-cs", "regime": "gdpr",
                                                    "request_type": "access", "requester_name": "S", "requester_contact": "s@example.org",
                                                    "received_on": "2026-12-01"})
    assert r.status_code == 201, r.text
    with world.api.db.reader() as s:
        case_id = s.execute(select(Case.id).where(Case.kind == "privacy_request")).scalar_one()
    seen = world.api.client.get(f"/api/v1/cases/{case_id}", headers=world.api.staff_token(privacy))
    assert seen.status_code == 200 and seen.json()["subject"]["external_id"] == "acc-cs"
    assert SECRET_TEXT not in seen.text and "CHILD_GROOMING" not in seen.text


def test_a_backtest_leaves_out_what_its_reader_may_not_see(world: World) -> None:
    """A draft condition is a question about the text it runs over: over hidden content, one guess at a time."""
    with world.api.db.session() as s:
        save_rule(s, SETUP, parse_rule({"name": "watch", "mode": "shadow", "expression": "false", "effects": []}), source="api")
    draft = {"name": "watch", "mode": "shadow", "expression": "event.text.contains('child-safety staff')", "effects": []}
    seen = {}
    for who in ("sen", "cs-lead"):
        r = world.api.client.post("/api/v1/rules/watch/backtest", json=draft, headers=world.as_(who))
        assert r.status_code == 200, r.text
        seen[who] = r.json()
    assert seen["sen"]["matched"] == 0 and seen["sen"]["withheld"] >= 2 and seen["sen"]["added_items"] == []
    assert seen["cs-lead"]["matched"] == 2 and seen["cs-lead"]["withheld"] == 0
    assert {item["subject_id"] for item in seen["cs-lead"]["added_items"]} == {world.ids["photo-cs"], world.ids["acc-cs"]}
    assert seen["sen"]["replayed"] + seen["sen"]["withheld"] == seen["cs-lead"]["replayed"]
    csrf = world.console("admin")  # the console's rule pages are admins'
    status, page = world.call("POST", "/rules/watch/backtest", csrf, form={**draft, "effects": "[]", "since": "1d"})
    assert status == 200 and 'data-testid="matched">0<' in page and 'data-testid="withheld">' in page


def test_a_cascade_counts_the_items_hidden_from_the_senior_and_names_none_of_them(world: World) -> None:
    """acc-other's photo sits in the child-safety queue: taking the account down takes it down too, unnamed."""
    assert world.api.post("/api/v1/subjects", {"external_id": "photo-other", "kind": "photo", "account_external_id": "acc-other"}).status_code == 201
    r = world.api.post("/api/v1/reports", {"external_id": "r-other", "subject_external_id": "photo-other", "policy_code": "CSAM",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    preview = world.api.client.get(f"/api/v1/subjects/{world.ids['acc-other']}/cascade", headers=world.as_("sen"))
    assert preview.status_code == 200, preview.text
    assert preview.json()["withheld"] == 1 and "photo-other" not in preview.text
    assert preview.json()["count"] == len(preview.json()["changes"]) + 1
    lead = world.api.client.get(f"/api/v1/subjects/{world.ids['acc-other']}/cascade", headers=world.as_("cs-lead")).json()
    assert lead["withheld"] == 0 and "photo-other" in {c["external_id"] for c in lead["changes"]} and lead["count"] == preview.json()["count"]
    csrf = world.console("sen")
    status, page = world.call("GET", "/subjects/{acc-other}/cascade", csrf)
    assert status == 200 and "photo-other" not in page and 'data-testid="withheld"' in page
    with world.api.db.reader() as s:
        policy = next(p.code for p in s.execute(select(Policy).where(Policy.is_current.is_(True)).order_by(Policy.code)).scalars()
                      if "cascade_takedown" in p.allowed_actions)
    applied = world.api.client.post(f"/subjects/{world.ids['acc-other']}/cascade", headers=csrf, follow_redirects=False,
                                    data={"kind": "cascade_takedown", "policy_code": policy, "rationale": "a scam ring"})
    assert applied.status_code == 303, re.findall(r"error[^<]*<[^<]*", applied.text)
    status, page = world.call("GET", applied.headers["location"], csrf)
    assert status == 200 and "photo-other" not in page and 'data-testid="withheld"' in page
    with world.api.db.reader() as s:
        assert s.execute(select(Subject.visibility).where(Subject.external_id == "photo-other")).scalar_one() == "removed"


def test_a_child_safety_report_joining_an_imminent_harm_case_leaves_it_where_routing_puts_it_first(world: World) -> None:
    """Routing tries the imminent-harm queue before the child-safety one, for a first report as
    for one that joins: the case stays with the imminent-harm desk."""
    r = world.api.post("/api/v1/reports", {"external_id": "r-harm", "subject_external_id": "acc-other", "policy_code": "SELF_HARM",
                                           "reporter_type": "anonymous", "imminent_harm": True})
    assert r.status_code == 201, r.text
    case_id = _case_of_report(world, "r-harm")
    with world.api.db.reader() as s:
        harm_queue = s.execute(select(Queue.id).where(Queue.name == "Imminent harm")).scalar_one()
        assert s.get_one(Case, case_id).queue_id == harm_queue
    r = world.api.post("/api/v1/reports", {"external_id": "r-harm-cs", "subject_external_id": "acc-other", "policy_code": "CHILD_GROOMING",
                                           "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    assert _case_of_report(world, "r-harm-cs") == case_id
    with world.api.db.reader() as s:
        assert s.get_one(Case, case_id).queue_id == harm_queue


def test_an_appeal_goes_where_the_subjects_moderation_is_not_to_a_legal_requests_queue(world: World) -> None:
    """acc-cs is under a law-enforcement request (the legal team's queue) and a child-safety
    decision: its appeal goes to the child-safety staff, and no listing shows it to others."""
    with world.api.db.session() as s:
        legal = staff.create_user(s, SETUP, world.settings, username="lee", password="long enough password", roles=["legal"],
                                  with_totp=False).id
        decision = decide_subject(s, SETUP, world.ids["acc-cs"], DecisionRequest("CHILD_GROOMING", verdict="violation", actions=["ban"],
                                                                                 rationale="confirmed"))
        decision_id = decision.id
    r = world.api.post("/api/v1/law-enforcement-requests", {
        "external_id": "le-1", "agency": "County Sheriff", "officer_name": "Det. Ruiz", "officer_email": "ruiz@sheriff.example",
        "instrument": "emergency_disclosure", "reference": "SO-1", "subject_external_ids": ["acc-cs"], "received_at": "2026-12-01T09:30:00Z"})
    assert r.status_code == 201, r.text
    appeal = world.api.post("/api/v1/appeals", {"external_id": "ap-1", "statement": "not me", "decision_id": decision_id})
    assert appeal.status_code == 201, appeal.text
    with world.api.db.reader() as s:
        appeal_case = s.get_one(Case, appeal.json()["case_id"])
        le_queue = s.execute(select(Case.queue_id).where(Case.kind == "law_enforcement_request")).scalar_one()
    assert appeal_case.queue_id == world.ids["cs-queue"]
    listed = world.api.client.get(f"/api/v1/queues/{le_queue}/cases", headers=world.api.staff_token(legal))
    assert listed.status_code == 200 and [c["kind"] for c in listed.json()] == ["law_enforcement_request"]
    for who in ("cs", "cs-lead"):  # not locked out of their own cases by the request
        assert world.api.client.get(f"/api/v1/cases/{world.ids['acc-case']}", headers=world.as_(who)).status_code == 200
        assert world.api.client.get(f"/api/v1/cases/{appeal_case.id}", headers=world.as_(who)).status_code == 200


def test_a_queue_lists_no_case_about_a_subject_hidden_from_its_reader(world: World) -> None:
    """An escalation of photo-cs sitting in the general queue (put there by hand) is not listed to
    a moderator, as its page is not shown to them."""
    with world.api.db.session() as s:
        general = s.execute(select(Queue.id).where(Queue.name == "General")).scalar_one()
        model = s.get_one(Case, world.ids["post-case"])
        stray = Case(**{c.key: getattr(model, c.key) for c in Case.__table__.columns if c.key != "id"})
        stray.subject_id, stray.kind, stray.queue_id = world.ids["photo-cs"], "escalation", general
        s.add(stray)
        s.flush()
        stray_id = stray.id
    listed = world.api.client.get(f"/api/v1/queues/{general}/cases", headers=world.as_("mod"))
    assert listed.status_code == 200 and {c["id"] for c in listed.json()} == {world.ids["post-case"]}
    assert world.api.client.get(f"/api/v1/cases/{stray_id}", headers=world.as_("mod")).status_code == 404
    seen = world.api.client.get(f"/api/v1/queues/{general}/cases", headers=world.as_("cs-lead"))
    assert seen.status_code == 200 and {c["id"] for c in seen.json()} == {world.ids["post-case"], stray_id}


def test_a_later_report_about_a_subject_hidden_from_a_queues_staff_opens_its_case_where_the_subject_is_seen(world: World) -> None:
    """A spam report about the photo once reported as CSAM would open a General case that
    moderators are served by "next case" and cannot open; it goes to the Child safety queue."""
    with world.api.db.session() as s:
        for subject, policy in (("photo-cs", "CSAM"), ("acc-cs", "CHILD_GROOMING"), ("post-1", "SPAM")):
            decide_subject(s, SETUP, world.ids[subject], DecisionRequest(policy, verdict="violation", actions=["remove"], rationale="done"))
    r = world.api.post("/api/v1/reports", {"external_id": "r-photo-spam", "subject_external_id": "photo-cs", "policy_code": "SPAM",
                                           "reporter_type": "anonymous", "text": "spam now"})
    assert r.status_code == 201, r.text
    later = _case_of_report(world, "r-photo-spam")
    with world.api.db.reader() as s:
        case = s.get_one(Case, later)
        assert (case.queue_id, case.routed_by) == (world.ids["cs-queue"], "need_to_know:Child safety")
    nothing = world.api.client.post("/api/v1/cases/next", headers=world.as_("mod"))
    assert nothing.status_code == 200 and nothing.json()["case"] is None
    served = world.api.client.post("/api/v1/cases/next", headers=world.as_("cs"))
    assert served.status_code == 200 and served.json()["case"]["id"] == later


def test_an_appeal_or_a_tier_does_not_take_a_subject_out_of_the_moderators_sight(world: World) -> None:
    """The Appeals queue and the tiers decide who acts, not who may know: a later report about a
    subject under appeal opens a General case the moderators are served and can open."""
    with world.api.db.session() as s:
        decision = decide_subject(s, SETUP, world.ids["post-1"], DecisionRequest("SPAM", verdict="violation", actions=["remove"], rationale="spam"))
        decision_id = decision.id
    appeal = world.api.post("/api/v1/appeals", {"external_id": "ap-1", "statement": "mine", "decision_id": decision_id})
    assert appeal.status_code == 201, appeal.text
    r = world.api.post("/api/v1/reports", {"external_id": "r-post-2", "subject_external_id": "post-1", "policy_code": "SPAM",
                                           "reporter_type": "anonymous", "text": "again"})
    assert r.status_code == 201, r.text
    later = _case_of_report(world, "r-post-2")
    with world.api.db.reader() as s:
        assert s.get_one(Queue, s.get_one(Case, later).queue_id).name == "General"
    served = world.api.client.post("/api/v1/cases/next", headers=world.as_("mod"))
    assert served.status_code == 200 and served.json()["case"]["id"] == later
    assert world.api.client.get(f"/api/v1/cases/{later}", headers=world.as_("mod")).status_code == 200
    assert world.api.client.get(f"/api/v1/cases/{appeal.json()['case_id']}", headers=world.as_("mod")).status_code == 404  # the appeal is the seniors'
