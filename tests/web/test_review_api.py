"""The review workflow through /api/v1 with personal staff tokens: claim, read, decide, cascade, bulk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth import api_clients, staff
from trustdesk.config import Settings
from trustdesk.jobs.worker import run_worker
from trustdesk.store.models import Case, NotifierRecord, StaffUser, Subject, utcnow

SETUP = Actor("test", "setup")


@dataclass
class Team:
    api: Api
    tokens: dict[str, str]
    ids: dict[str, int]

    def call(self, who: str, method: str, path: str, body: object = None) -> object:
        response = self.api.client.request(method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})
        return response


@pytest.fixture
def team(api: Api, settings: Settings) -> Team:
    tokens, ids = {}, {}
    with api.db.session() as s:
        for name, roles in (("mod", ["moderator"]), ("mod2", ["moderator"]), ("sen", ["senior"]), ("admin", ["admin"])):
            user = staff.create_user(s, SETUP, settings, username=name, password="correct horse battery", roles=roles, with_totp=False)
            tokens[name] = api_clients.create_staff_token(s, SETUP, user, "tests")[1]
            ids[name] = user.id
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "seller", "kind": "account"},
        {"external_id": "shop", "kind": "shop", "account_external_id": "seller"},
        *({"external_id": f"lst-{i}", "kind": "listing", "parent_external_id": "shop", "title": f"bag {i}"} for i in range(3)),
        {"external_id": "msg", "kind": "message", "account_external_id": "seller", "text": "buy followers"},
    ]})
    assert r.status_code == 200
    for ext, policy in (("r1", "COUNTERFEIT"), ("r2", "SPAM")):
        subject = "lst-0" if policy == "COUNTERFEIT" else "msg"
        assert api.post("/api/v1/reports", {"external_id": ext, "subject_external_id": subject, "policy_code": policy,
                                            "reporter_type": "anonymous"}).status_code == 201
    with api.db.reader() as s:
        ids |= {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
    return Team(api, tokens, ids)


def test_claim_read_decide_and_take_the_next_case(team: Team) -> None:
    first = team.call("mod", "POST", "/api/v1/cases/next").json()["case"]
    assert first is not None
    detail = team.call("mod", "GET", f"/api/v1/cases/{first['id']}").json()
    assert detail["reports"] and detail["subject"]["id"] == first["subject_id"]
    # another reviewer cannot decide it
    other = team.call("mod2", "POST", f"/api/v1/cases/{first['id']}/decision", {"policy_code": first["policy_code"], "verdict": "no_violation"})
    assert other.status_code == 409 and other.json()["field"] == "case_id"
    r = team.call("mod", "POST", f"/api/v1/cases/{first['id']}/decision?next=true",
                  {"policy_code": first["policy_code"], "answers": {"COUNTERFEIT": [0, 0, 1], "SPAM": [0, 1]}[first["policy_code"]],
                   "rationale": "clear-cut", "time_spent_ms": 5000})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["decision"]["verdict"] == "violation" and out["decision"]["action_ids"]
    assert out["next_case"] is not None and out["next_case"]["id"] != first["id"]
    assert team.call("mod", "POST", f"/api/v1/cases/{first['id']}/decision", {"policy_code": "SPAM", "verdict": "no_violation"}).status_code == 409
    with team.api.db.reader() as s:
        assert s.get(Case, first["id"]).status == "decided"
        assert s.get(Subject, first["subject_id"]).visibility == "removed"
        assert verify_chain(s).ok


def test_bad_decisions_are_refused_naming_the_field(team: Team) -> None:
    case = team.call("mod", "POST", "/api/v1/cases/next").json()["case"]
    r = team.call("mod", "POST", f"/api/v1/cases/{case['id']}/decision", {"policy_code": "NOPE", "verdict": "violation"})
    assert r.status_code in (404, 422) and r.json()["field"] == "policy_code"
    r = team.call("mod", "POST", f"/api/v1/cases/{case['id']}/decision", {"policy_code": case["policy_code"], "verdict": "violation", "actions": ["ban", "teleport"]})
    assert r.status_code == 422 and "actions" in r.json()["field"]
    r = team.call("mod", "POST", f"/api/v1/cases/{case['id']}/decision", {"policy_code": case["policy_code"], "colour": "red"})
    assert r.status_code == 422 and r.json()["field"] == "colour"
    with team.api.db.reader() as s:
        assert s.get(Case, case["id"]).status == "open"


def test_senior_previews_applies_and_undoes_a_cascade_takedown(team: Team) -> None:
    shop = team.ids["shop"]
    assert team.call("mod", "GET", f"/api/v1/subjects/{shop}/cascade").status_code == 403
    preview = team.call("sen", "GET", f"/api/v1/subjects/{shop}/cascade").json()
    assert preview["count"] == 4 and {c["after"] for c in preview["changes"]} == {"removed"}
    r = team.call("sen", "POST", f"/api/v1/subjects/{shop}/decision",
                  {"policy_code": "COUNTERFEIT", "verdict": "violation", "actions": ["cascade_takedown"], "cascade": True, "rationale": "replica shop"})
    assert r.status_code == 201, r.text
    with team.api.db.reader() as s:
        assert {s.get(Subject, team.ids[k]).visibility for k in ("shop", "lst-0", "lst-1", "lst-2")} == {"removed"}
    [action_id] = r.json()["action_ids"]
    no_reason = team.call("sen", "POST", f"/api/v1/actions/{action_id}/undo")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    undo = team.call("sen", "POST", f"/api/v1/actions/{action_id}/undo", {"reason": "the brand confirmed the shop is an outlet"}).json()
    assert len(undo["undone"]) == 4 and undo["skipped"] == []
    with team.api.db.reader() as s:
        assert {s.get(Subject, team.ids[k]).visibility for k in ("shop", "lst-0", "lst-1", "lst-2")} == {"visible"}
    assert team.call("sen", "POST", f"/api/v1/actions/{action_id}/undo").status_code == 409


def test_bulk_decision_runs_in_the_worker_with_per_item_results(team: Team, settings: Settings) -> None:
    listings = [team.ids[f"lst-{i}"] for i in range(3)]
    r = team.call("sen", "POST", "/api/v1/bulk", {"subject_ids": [*listings, 999_999],
                  "decision": {"policy_code": "COUNTERFEIT", "verdict": "violation", "actions": ["remove"], "rationale": "ring"}})
    assert r.status_code == 202, r.text
    op = r.json()
    assert (op["total"], op["pending"], op["failed"]) == (4, 3, 1)  # the unknown id fails at once
    run_worker(team.api.db, settings, worker_id="w", once=True)
    done = team.call("sen", "GET", f"/api/v1/bulk/{op['id']}").json()
    assert (done["status"], done["succeeded"], done["failed"]) == ("done", 3, 1)
    failed = team.call("sen", "GET", f"/api/v1/bulk/{op['id']}/items?status=failed").json()
    assert failed == {"items": [{"position": 3, "reference": "999999", "subject_id": None, "status": "failed",
                                 "detail": "no subject 999999", "decision_id": None}], "next_after": None}
    too_many = team.call("sen", "POST", "/api/v1/bulk", {"subject_ids": list(range(1, 10_002)),
                         "decision": {"policy_code": "SPAM", "verdict": "violation", "actions": ["remove"]}})
    assert too_many.status_code == 422


def test_bulk_by_external_id_with_results_per_item_and_its_undo(team: Team, settings: Settings) -> None:
    decision = {"policy_code": "COUNTERFEIT", "verdict": "violation", "actions": ["remove"], "rationale": "replica ring"}
    no_app = team.call("sen", "POST", "/api/v1/bulk", {"external_ids": ["lst-0"], "decision": decision})
    assert no_app.status_code == 422 and no_app.json()["field"] == "app"
    unknown_app = team.call("sen", "POST", "/api/v1/bulk", {"app": "nope", "external_ids": ["lst-0"], "decision": decision})
    assert unknown_app.status_code == 422 and unknown_app.json()["field"] == "app"
    r = team.call("sen", "POST", "/api/v1/bulk", {"app": "dating", "external_ids": ["lst-0", "lst-1", "ghost", "lst-0"], "decision": decision})
    assert r.status_code == 202, r.text
    op = r.json()
    assert (op["kind"], op["total"], op["failed"], op["skipped"], op["pending"]) == ("decision", 4, 1, 1, 2)
    run_worker(team.api.db, settings, worker_id="w", once=True)
    items = team.call("sen", "GET", f"/api/v1/bulk/{op['id']}/items").json()["items"]
    assert [(i["reference"], i["subject_id"], i["status"], i["detail"]) for i in items] == [
        ("dating:lst-0", team.ids["lst-0"], "applied", None), ("dating:lst-1", team.ids["lst-1"], "applied", None),
        ("dating:ghost", None, "failed", "no subject 'ghost' in app dating"), ("dating:lst-0", team.ids["lst-0"], "skipped", "the same subject as item 1"),
    ]
    page = team.call("sen", "GET", f"/api/v1/bulk/{op['id']}/items?limit=1&after=0").json()
    assert [i["position"] for i in page["items"]] == [1] and page["next_after"] == 1
    assert team.call("sen", "GET", f"/api/v1/bulk/{op['id']}/items?status=nope").status_code == 422

    assert team.call("mod", "POST", f"/api/v1/bulk/{op['id']}/undo", {"reason": "x"}).status_code == 403
    no_reason = team.call("sen", "POST", f"/api/v1/bulk/{op['id']}/undo", {"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    undo = team.call("sen", "POST", f"/api/v1/bulk/{op['id']}/undo", {"reason": "the ring was a false alarm"})
    assert undo.status_code == 202, undo.text
    assert (undo.json()["kind"], undo.json()["undo_of"], undo.json()["total"]) == ("undo", op["id"], 2)
    assert team.call("sen", "POST", f"/api/v1/bulk/{op['id']}/undo", {"reason": "again"}).status_code == 409
    run_worker(team.api.db, settings, worker_id="w", once=True)
    undone = team.call("sen", "GET", f"/api/v1/bulk/{undo.json()['id']}/items").json()["items"]
    assert [(i["reference"], i["status"], i["detail"]) for i in undone] == [
        ("dating:lst-0", "undone", "withdrew 1 action"), ("dating:lst-1", "undone", "withdrew 1 action")]
    assert team.call("sen", "GET", f"/api/v1/bulk/{op['id']}").json()["undone_by"] == undo.json()["id"]
    with team.api.db.reader() as s:
        assert {s.get(Subject, team.ids[k]).visibility for k in ("lst-0", "lst-1")} == {"visible"}


def test_queue_admin_and_assignment(team: Team) -> None:
    bad = team.call("admin", "POST", "/api/v1/queues", {"name": "Fraud", "routing_expression": "report.polcy == 'SCAM'"})
    assert bad.status_code == 422 and "polcy" in bad.json()["detail"] and "policy" in bad.json()["detail"]
    assert team.call("mod", "POST", "/api/v1/queues", {"name": "Fraud", "routing_expression": "true"}).status_code == 403
    good = team.call("admin", "POST", "/api/v1/queues", {"name": "Fraud", "routing_expression": "report.policy == 'SCAM'", "position": 5})
    assert good.status_code == 201
    names = [q["name"] for q in team.call("mod", "GET", "/api/v1/queues").json()]
    assert "Fraud" in names
    general = next(q for q in team.call("mod", "GET", "/api/v1/queues").json() if q["is_default"])
    listed = team.call("mod", "GET", f"/api/v1/queues/{general['id']}/cases").json()
    assert [c["priority_score"] for c in listed] == sorted((c["priority_score"] for c in listed), reverse=True)
    case_id = listed[-1]["id"]
    assert team.call("sen", "POST", f"/api/v1/cases/{case_id}/assign", {"staff_id": team.ids["mod2"]}).status_code == 200
    assert team.call("mod2", "POST", "/api/v1/cases/next").json()["case"]["id"] == case_id
    with team.api.db.reader() as s:
        assert s.execute(select(StaffUser.username).where(StaffUser.id == team.ids["mod2"])).scalar_one() == "mod2"


def test_a_notifier_under_measures_is_listed_and_reinstated(team: Team) -> None:
    with team.api.db.session() as s:
        s.add(NotifierRecord(key="account:7", app_id=team.api.app_id, founded=0, unfounded=20, unfounded_at_measure=20,
                             warned_at=utcnow(), suspended_until=utcnow() + timedelta(days=30)))
    listed = team.call("sen", "GET", "/api/v1/notifiers").json()
    assert [n["key"] for n in listed] == ["account:7"]
    assert team.call("mod", "POST", "/api/v1/notifiers/account:7/reinstate").status_code == 403
    r = team.call("sen", "POST", "/api/v1/notifiers/account:7/reinstate")
    assert r.status_code == 200 and r.json()["suspended_until"] is None and r.json()["warned_at"] is None
    assert team.call("sen", "POST", "/api/v1/notifiers/account:7/reinstate").status_code == 409
    assert team.call("sen", "GET", "/api/v1/notifiers").json() == []


def test_queue_cases_filter_sort_and_page_by_keyset_through_link_headers(team: Team) -> None:
    general = next(q for q in team.call("mod", "GET", "/api/v1/queues").json() if q["is_default"])
    path = f"/api/v1/queues/{general['id']}/cases"
    everything = [c["id"] for c in team.call("mod", "GET", f"{path}?sort=oldest").json()]
    assert len(everything) == 2
    first = team.call("mod", "GET", f"{path}?sort=oldest&limit=1")
    assert first.status_code == 200 and [c["id"] for c in first.json()] == everything[:1]
    following = re.fullmatch(r'<(http://[^>]+)>; rel="next"', first.headers["link"]).group(1)
    assert "sort=oldest" in following and "limit=1" in following and "after=" in following
    second = team.call("mod", "GET", following.removeprefix("http://testserver"))
    assert [c["id"] for c in second.json()] == everything[1:]
    assert 'rel="prev"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]
    spam = team.call("mod", "GET", f"{path}?policy_code=SPAM&breached=false&reporter_type=anonymous").json()
    assert [c["policy_code"] for c in spam] == ["SPAM"]
    for bad, field in (("band=P9", "band"), ("sort=random", "sort"), ("after=xyz", "after"), ("limit=0", "limit")):
        refused = team.call("mod", "GET", f"{path}?{bad}")
        assert refused.status_code == 422 and refused.json()["field"] == field, bad


def test_next_case_from_one_queue_skips_stick_and_a_closed_case_has_no_countdown(team: Team) -> None:
    fraud = team.call("admin", "POST", "/api/v1/queues", {"name": "Fraud", "routing_expression": "report.policy == 'SCAM'"}).json()
    general = next(q for q in team.call("mod", "GET", "/api/v1/queues").json() if q["is_default"])
    assert team.call("mod", "POST", f"/api/v1/cases/next?queue_id={fraud['id']}").json()["case"] is None
    first = team.call("mod", "POST", f"/api/v1/cases/next?queue_id={general['id']}").json()["case"]
    second = team.call("mod", "POST", f"/api/v1/cases/next?queue_id={general['id']}").json()["case"]  # skips the first
    assert first["queue_id"] == second["queue_id"] == general["id"] and second["id"] != first["id"]
    decided = team.call("mod", "POST", f"/api/v1/cases/{second['id']}/decision?next=true",
                        {"policy_code": second["policy_code"], "verdict": "no_violation", "actions": [], "rationale": ""})
    assert decided.status_code == 201, decided.text
    assert decided.json()["next_case"] is None  # the skipped case does not come back to mod ...
    assert team.call("mod2", "POST", "/api/v1/cases/next").json()["case"]["id"] == first["id"]  # ... but goes to mod2
    closed = team.call("mod", "GET", f"/api/v1/cases/{second['id']}").json()["case"]
    assert closed["status"] == "decided" and closed["minutes_left"] is None and closed["breached"] is False
    with team.api.db.session() as s:  # it was due before it was decided, and no sweep ran to mark it
        late = s.get_one(Case, second["id"])
        late.due_at = late.decided_at - timedelta(minutes=5)
    assert team.call("mod", "GET", f"/api/v1/cases/{second['id']}").json()["case"]["breached"] is True
    assert team.call("mod", "POST", "/api/v1/cases/next?queue_id=999999").status_code == 404
