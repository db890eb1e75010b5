"""Deciding cases: who may, what a decision records, applies and closes, what it refuses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.enforcement.conftest import SETUP, World, account, item
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.cases.access import Reviewer
from trustdesk.cases.claiming import CaseNotHeld
from trustdesk.domain.errors import FieldError
from trustdesk.enforcement.decisions import DecisionRequest, decide_case, decide_subject
from trustdesk.enforcement.notifiers import reinstate
from trustdesk.policy_versions import publish_version
from trustdesk.store.models import (
    AuditEvent,
    Case,
    Decision,
    EnforcementAction,
    NotifierRecord,
    Report,
    Strike,
)

ALICE = Actor("staff", "alice")
BOB = Actor("staff", "bob")
FLAGGER = "tf@example.org"


def _listing_with_reports(world: World, n: int = 1, **case: Any) -> tuple[dict[str, int], int]:
    """A seller's listing reported by a buyer and a trusted flagger, in a case alice holds."""
    ids = world.add_subjects(account("seller"), account("buyer"), item(f"lst-{n}", "listing", owner="seller"))
    reports = world.file(
        {"external_id": f"r{n}-user", "subject_external_id": f"lst-{n}", "policy_code": "COUNTERFEIT",
         "reporter_type": "user", "reporter_external_id": "buyer", "text": "fake bag"},
        {"external_id": f"r{n}-tf", "subject_external_id": f"lst-{n}", "policy_code": "COUNTERFEIT",
         "reporter_type": "trusted_flagger", "dsa": {"notifier_email": FLAGGER, "notifier_name": "Brand Watch"}},
    )
    return ids, world.open_case(ids[f"lst-{n}"], reports, **({"claimed_by": world.alice} | case))


def _decide(world: World, case_id: int, request: DecisionRequest, reviewer: int | None = None, actor: Actor = ALICE) -> Decision:
    with world.db.session() as s:
        return decide_case(s, Reviewer(reviewer or world.alice, ("moderator",)), actor, case_id, request)


def _case(world: World, case_id: int) -> Case:
    with world.db.reader() as s:
        return s.get_one(Case, case_id)


def _report_statuses(world: World, case_id: int) -> list[str]:
    with world.db.reader() as s:
        return list(s.execute(select(Report.status).where(Report.case_id == case_id).order_by(Report.id)).scalars())


def _count(world: World, model: type) -> int:
    with world.db.reader() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_violation_on_a_held_case_applies_actions_and_closes_reports_as_actioned(world: World) -> None:
    ids, case_id = _listing_with_reports(world)
    with world.db.session() as s:
        publish_version(s, SETUP, "COUNTERFEIT", {"title": "Counterfeit goods"})
    current = world.policy("COUNTERFEIT")

    decision = _decide(world, case_id, DecisionRequest("COUNTERFEIT", answers=[0, 0, 0], rationale="Logo is fake", time_spent_ms=42_000))

    assert (decision.policy_id, decision.policy_version) == (current.id, 2)
    assert (decision.verdict, decision.actions) == ("violation", ["remove", "demonetise", "strike"])  # a counterfeit shop
    assert [step["answer"] for step in decision.tree_path] == ["Yes", "Yes", "Yes: a counterfeit shop"]
    assert (decision.reviewer_id, decision.case_id, decision.time_spent_ms) == (world.alice, case_id, 42_000)
    assert world.visibility(ids["lst-1"], ids["seller"]) == ["removed", "visible"]  # a first strike only warns
    assert [(a.kind, a.subject_id) for a in world.actions()] == [
        ("remove", ids["lst-1"]), ("demonetise", ids["lst-1"]), ("strike", ids["seller"]), ("warn", ids["seller"])
    ]
    with world.db.reader() as s:
        strike = s.execute(select(Strike)).scalar_one()
        assert (strike.account_id, strike.decision_id, strike.weight) == (ids["seller"], decision.id, 3.0)
    assert _report_statuses(world, case_id) == ["actioned", "actioned"]
    with world.db.reader() as s:
        records = {r.key: (r.founded, r.unfounded) for r in s.execute(select(NotifierRecord)).scalars()}
    assert records == {f"account:{ids['buyer']}": (1, 0), personal_data.notifier_ref(FLAGGER): (1, 0)}
    case = _case(world, case_id)
    assert (case.status, case.claimed_by, case.lease_until) == ("decided", None, None) and case.decided_at is not None
    with world.db.reader() as s:
        decided = s.execute(select(AuditEvent).where(AuditEvent.verb == "case.decided")).scalar_one()
        assert (decided.before["status"], decided.after["status"], decided.actor_id) == ("open", "decided", "alice")
        assert verify_chain(s).ok


def test_no_violation_closes_reports_as_unfounded_and_applies_nothing(world: World) -> None:
    ids, case_id = _listing_with_reports(world)
    decision = _decide(world, case_id, DecisionRequest("COUNTERFEIT", verdict="no_violation", rationale="Genuine"))
    assert (decision.verdict, decision.actions, decision.tree_path) == ("no_violation", [], [])
    assert world.actions() == [] and world.visibility(ids["lst-1"]) == ["visible"]
    assert _report_statuses(world, case_id) == ["unfounded", "unfounded"]
    with world.db.reader() as s:
        assert s.get_one(NotifierRecord, f"account:{ids['buyer']}").unfounded == 1


def test_a_notifier_whose_notices_keep_being_unfounded_is_warned_deprioritised_suspended(world: World) -> None:
    key = personal_data.notifier_ref(FLAGGER)
    measures = []
    for n in range(1, 21):
        _ids, case_id = _listing_with_reports(world, n)
        _decide(world, case_id, DecisionRequest("COUNTERFEIT", answers=[1]))
        with world.db.reader() as s:
            row = s.get_one(NotifierRecord, key)
            measures.append((row.warned_at is not None, row.deprioritised_until is not None, row.suspended_until is not None))
    assert measures.index((True, False, False)) == 9  # warned at the tenth unfounded notice
    assert measures.index((True, True, False)) == 14  # five more: deprioritised
    assert measures[19] == (True, True, True)  # five more: suspended
    with world.db.session() as s:
        reinstate(s, ALICE, key)
    with world.db.reader() as s:
        row = s.get_one(NotifierRecord, key)
        assert (row.warned_at, row.deprioritised_until, row.suspended_until, row.unfounded) == (None, None, None, 20)
        assert verify_chain(s).ok


@pytest.mark.parametrize(
    ("case", "reviewer"),
    [
        ({}, "bob"),  # held by alice
        ({"claimed_by": None}, "alice"),  # held by nobody
        ({"lease": timedelta(seconds=-1)}, "alice"),  # alice's hold ran out
    ],
    ids=["someone-else", "unclaimed", "lease-expired"],
)
def test_only_the_reviewer_holding_the_case_can_decide_it(world: World, case: dict[str, Any], reviewer: str) -> None:
    ids, case_id = _listing_with_reports(world, **case)
    with pytest.raises(CaseNotHeld) as caught:
        _decide(world, case_id, DecisionRequest("COUNTERFEIT", answers=[0, 0, 0]), reviewer=getattr(world, reviewer))
    assert (caught.value.status, caught.value.field) == (409, "case_id")
    assert _count(world, Decision) == 0 and world.actions() == []
    assert _case(world, case_id).status == "open" and _report_statuses(world, case_id) == ["open", "open"]
    assert world.visibility(ids["lst-1"]) == ["visible"]


def test_a_case_is_decided_once(world: World) -> None:
    _ids, case_id = _listing_with_reports(world)
    _decide(world, case_id, DecisionRequest("COUNTERFEIT", answers=[0, 0, 1]))
    with pytest.raises(CaseNotHeld):
        _decide(world, case_id, DecisionRequest("COUNTERFEIT", verdict="no_violation"))
    assert _count(world, Decision) == 1 and _report_statuses(world, case_id) == ["actioned", "actioned"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (DecisionRequest("NOPE", verdict="violation", actions=["remove"]), "policy_code"),
        (DecisionRequest("COUNTERFEIT", answers=[0]), "answers"),  # stops halfway
        (DecisionRequest("COUNTERFEIT", answers=[7]), "answers"),
        (DecisionRequest("COUNTERFEIT", answers=[1], verdict="violation"), "verdict"),  # the tree says no violation
        (DecisionRequest("COUNTERFEIT"), "verdict"),
        (DecisionRequest("COUNTERFEIT", verdict="violation", actions=["ban"]), "actions"),  # not under this policy
        (DecisionRequest("COUNTERFEIT", verdict="violation", actions=[]), "actions"),
        (DecisionRequest("COUNTERFEIT", verdict="no_violation", actions=["remove"]), "actions"),
        (DecisionRequest("COUNTERFEIT", verdict="violation", actions=["label"]), "params.label"),
        (DecisionRequest("HARASSMENT", verdict="violation", actions=["suspend"], params={"days": 400}), "params.days"),
        (DecisionRequest("COUNTERFEIT", verdict="violation", actions=["label"], params={"label": "x"}, cascade=True), "cascade"),
        (DecisionRequest("COUNTERFEIT", verdict="violation", actions=["remove"], time_spent_ms=-1), "time_spent_ms"),
    ],
)
def test_refused_requests_name_the_field_and_leave_no_trace(world: World, request_: DecisionRequest, field: str) -> None:
    _ids, case_id = _listing_with_reports(world)
    with pytest.raises(FieldError) as caught:
        _decide(world, case_id, request_)
    assert caught.value.field == field, caught.value
    assert _count(world, Decision) == 0 and _count(world, EnforcementAction) == 0
    assert _case(world, case_id).status == "open"


def test_explicit_actions_may_differ_from_the_trees_as_long_as_the_verdict_agrees(world: World) -> None:
    ids, case_id = _listing_with_reports(world)
    request = DecisionRequest("COUNTERFEIT", answers=[0, 0, 1], actions=["label", "demonetise"], params={"label": "replica"})
    decision = _decide(world, case_id, request)
    assert decision.actions == ["label", "demonetise"]
    assert world.subject(ids["lst-1"]).attributes == {"labels": ["replica"], "demonetised": True}


def test_deciding_a_subject_directly_closes_its_open_case(world: World) -> None:
    ids, case_id = _listing_with_reports(world)
    with world.db.session() as s:
        decision = decide_subject(s, Actor("system", "rules"), ids["lst-1"], DecisionRequest("COUNTERFEIT", verdict="violation", actions=["remove"]))
    assert (decision.case_id, decision.reviewer_id) == (case_id, None)
    assert _case(world, case_id).status == "decided" and _report_statuses(world, case_id) == ["actioned", "actioned"]
    assert world.visibility(ids["lst-1"]) == ["removed"]
    with pytest.raises(CaseNotHeld):  # alice's claim went with it
        _decide(world, case_id, DecisionRequest("COUNTERFEIT", verdict="no_violation"))
