"""Statements of reasons: each restriction a decision applies stores one that the Transparency
Database would accept, named in the action's webhook events; one that would be refused stops the
decision before anything is written."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.enforcement.conftest import SETUP, World, account, item
from trustdesk.audit.log import Actor
from trustdesk.cases.access import Reviewer
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.action_types import action_type
from trustdesk.domain.errors import FieldError
from trustdesk.domain.policies import Action
from trustdesk.domain.statement_of_reasons import violations
from trustdesk.config import Settings
from trustdesk.enforcement.actions import undo_action
from trustdesk.enforcement.decisions import DecisionRequest, decide_case, decide_subject
from trustdesk.enforcement.suspensions import lift_due
from trustdesk.policy_versions import publish_version
from trustdesk.store.models import (
    App,
    AuditEvent,
    Case,
    Decision,
    EnforcementAction,
    OutboxMessage,
    StatementOfReasons,
)

ALICE = Actor("staff", "alice")
RESTRICTING = [a for a in Action if action_type(a).restriction is not None]
PARAMS: dict[Action, dict[str, Any]] = {Action.SUSPEND: {"days": 7}, Action.LABEL: {"label": "satire"}}


@pytest.fixture
def anything_goes(world: World) -> World:
    """HARASSMENT allows every action, so each kind can be decided under it."""
    with world.db.session() as s:
        publish_version(s, SETUP, "HARASSMENT", {"allowed_actions": [a.value for a in Action]})
    return world


def _decide(world: World, subject_id: int, kind: Action, *, rationale: str = "Insults aimed at one person.", **extra: Any) -> int:
    request = DecisionRequest("HARASSMENT", verdict="violation", actions=[kind.value], rationale=rationale,
                              params=PARAMS.get(kind, {}), **extra)
    with world.db.session() as s:
        return decide_subject(s, ALICE, subject_id, request, reviewer=Reviewer(world.alice, ("moderator",))).id


def _statements(world: World) -> list[StatementOfReasons]:
    with world.db.reader() as s:
        return list(s.execute(select(StatementOfReasons).order_by(StatementOfReasons.id)).scalars())


def _count(world: World, model: type) -> int:
    with world.db.reader() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("kind", RESTRICTING, ids=[a.value for a in RESTRICTING])
def test_each_restriction_stores_a_statement_the_database_accepts(anything_goes: World, kind: Action) -> None:
    world = anything_goes
    ids = world.add_subjects(
        account("acc"), item("post", "post", owner="acc", language="pt-BR", created_at="2026-01-02T03:04:05Z"),
    )
    decision_id = _decide(world, ids["post"], kind)

    [statement] = _statements(world)
    [action] = world.actions()
    body = statement.body
    assert violations(body) == []
    assert (statement.action_id, statement.decision_id, statement.subject_id, statement.app_id) == (
        action.id, decision_id, action.subject_id, world.app_id,
    )
    restriction = action_type(kind).restriction
    assert body[restriction.field] == restriction.fields()[restriction.field]
    assert re.fullmatch(r"td-[0-9a-f]{32}", body["puid"]) and statement.puid == body["puid"]
    assert body["decision_facts"] == "Insults aimed at one person."
    assert body["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert body["incompatible_content_ground"].startswith("Harassment and bullying (HARASSMENT, version 2)")
    assert body["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert body["category_specification"] == ["KEYWORD_CYBER_HARASSMENT", "KEYWORD_CYBER_BULLYING_INTIMIDATION"]
    assert (body["source_type"], body["automated_detection"], body["automated_decision"]) == (
        "SOURCE_VOLUNTARY", "No", "AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    if action_type(kind).on_account:
        assert (body["content_type"], body["content_type_other"]) == (["CONTENT_TYPE_OTHER"], "account")
    else:
        assert body["content_type"] == ["CONTENT_TYPE_TEXT"] and body["content_language"] == "PT"
        assert body["content_date"] == "2026-01-02"
    assert body["application_date"] == action.created_at.date().isoformat()
    if kind is Action.SUSPEND:
        assert body["end_date_account_restriction"] == action.ends_at.date().isoformat()
    else:
        assert not any(key.startswith("end_date_") for key in body)


@pytest.mark.parametrize("kind", [Action.WARN, Action.STRIKE, Action.REINSTATE])
def test_what_restricts_nothing_stores_no_statement(anything_goes: World, kind: Action) -> None:
    ids = anything_goes.add_subjects(account("acc"), item("post", "post", owner="acc", visibility="removed"))
    _decide(anything_goes, ids["post"], kind)
    actions = anything_goes.actions()  # a first strike also warns, through the ladder
    assert kind.value in [a.kind for a in actions] and all(action_type(a.kind).restriction is None for a in actions)
    assert _statements(anything_goes) == []


def test_a_cascade_stores_one_statement_per_item_it_restricts(anything_goes: World) -> None:
    world = anything_goes
    ids = world.add_subjects(
        account("acc"), item("shop", "shop", owner="acc"), item("l1", "listing", parent="shop", owner="acc"),
        item("l2", "listing", parent="shop", owner="acc"), item("gone", "listing", parent="shop", owner="acc", visibility="removed"),
    )
    _decide(world, ids["shop"], Action.CASCADE_TAKEDOWN)

    by_subject = {s.subject_id: s for s in _statements(world)}
    actions = {a.subject_id: a for a in world.actions()}
    assert set(by_subject) == set(actions) == {ids["shop"], ids["l1"], ids["l2"]}  # the removed one is not touched again
    for subject_id, statement in by_subject.items():
        assert statement.action_id == actions[subject_id].id and violations(statement.body) == []
        assert statement.body["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert by_subject[ids["l1"]].body["content_type"] == ["CONTENT_TYPE_PRODUCT"]
    assert by_subject[ids["shop"]].body["content_type_other"] == "shop"
    assert len({s.puid for s in by_subject.values()}) == 3


def test_the_webhook_events_carry_the_statement_id(anything_goes: World, settings: Settings) -> None:
    world = anything_goes
    with world.db.session() as s:
        add_endpoint(s, SETUP, SecretBox(settings.secret_key), s.get_one(App, world.app_id), "http://127.0.0.1:9/hook", production=False)
    ids = world.add_subjects(account("acc"), item("post", "post", owner="acc"))
    _decide(world, ids["post"], Action.REMOVE)
    _decide(world, ids["acc"], Action.WARN)
    [statement] = _statements(world)
    with world.db.session() as s:
        undo_action(s, ALICE, statement.action_id)

    with world.db.reader() as s:
        events = [(m.event_type, m.action_id, m.payload["data"]["statement_of_reasons_id"])
                  for m in s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()]
    warn = [a.id for a in world.actions() if a.kind == "warn"][0]
    assert events == [  # each decision's notice to the user names the statement of its restriction
        ("action.applied", statement.action_id, statement.id),
        ("notice.requested", None, statement.id),
        ("action.applied", warn, None),
        ("notice.requested", None, None),
        ("action.reversed", statement.action_id, statement.id),
    ]

    _decide(world, ids["acc"], Action.SUSPEND)  # a timed suspension: its end is announced with its statement too
    suspension = [a for a in world.actions() if a.kind == "suspend"][0]
    assert lift_due(world.db, now=suspension.ends_at + timedelta(seconds=1)) == 1
    with world.db.reader() as s:
        ended = [(m.event_type, m.payload["data"]["statement_of_reasons_id"])
                 for m in s.execute(select(OutboxMessage).where(OutboxMessage.action_id == suspension.id).order_by(OutboxMessage.id)).scalars()]
        stored = s.execute(select(StatementOfReasons.id).where(StatementOfReasons.action_id == suspension.id)).scalar_one()
    assert ended == [("action.applied", stored), ("action.expired", stored)]


def test_the_source_and_automation_come_from_the_reports_and_the_decision(anything_goes: World) -> None:
    world = anything_goes
    ids = world.add_subjects(account("acc"), account("buyer"), item("post", "post", owner="acc"), item("other", "post", owner="acc"))
    reports = world.file(
        {"external_id": "r-user", "subject_external_id": "post", "policy_code": "HARASSMENT", "reporter_type": "user",
         "reporter_external_id": "buyer"},
        {"external_id": "r-tf", "subject_external_id": "post", "policy_code": "HARASSMENT", "reporter_type": "trusted_flagger",
         "dsa": {"notifier_email": "tf@example.org", "notifier_name": "Watch"}},
    )
    case_id = world.open_case(ids["post"], reports, claimed_by=world.alice, policy_code="HARASSMENT")
    with world.db.session() as s:
        decide_case(s, Reviewer(world.alice, ("moderator",)), ALICE, case_id,
                    DecisionRequest("HARASSMENT", verdict="violation", actions=["remove"], rationale="Threats."))
    with world.db.session() as s:  # automation, with no report: the platform's own initiative
        decide_subject(s, Actor("rule", "r1"), ids["other"], DecisionRequest("HARASSMENT", verdict="violation", actions=["remove"]))

    reviewed, automated = (s.body for s in _statements(world))
    assert (reviewed["source_type"], reviewed["automated_decision"]) == ("SOURCE_TRUSTED_FLAGGER", "AUTOMATED_DECISION_NOT_AUTOMATED")
    assert (automated["source_type"], automated["automated_detection"], automated["automated_decision"]) == (
        "SOURCE_VOLUNTARY", "Yes", "AUTOMATED_DECISION_FULLY",
    )
    # no rationale: the facts say plainly what was decided under which rule
    assert automated["decision_facts"] == 'This was reviewed automatically and found to break our rule "Harassment and bullying".'


def test_a_decision_closing_an_escalation_and_a_notice_case_is_recorded_under_the_notice_case(anything_goes: World) -> None:
    """The statement's source is the notice's, as the transparency report's notices are found
    through the decision's case, even when an escalation of the same item was opened first."""
    world = anything_goes
    ids = world.add_subjects(account("acc"), item("post", "post", owner="acc"))
    with world.db.session() as s:
        first = s.get_one(Case, world.open_case(ids["post"], [], policy_code="HARASSMENT"))
        first.kind = "escalation"
    reports = world.file({"external_id": "r-tf", "subject_external_id": "post", "policy_code": "HARASSMENT",
                          "reporter_type": "trusted_flagger", "dsa": {"notifier_email": "tf@example.org", "notifier_name": "Watch"}})
    notice_case = world.open_case(ids["post"], reports, policy_code="HARASSMENT")
    assert notice_case > first.id
    with world.db.session() as s:
        decision = decide_subject(s, ALICE, ids["post"], DecisionRequest("HARASSMENT", verdict="violation", actions=["remove"], rationale="x"))
        assert decision.case_id == notice_case
    [statement] = _statements(world)
    assert statement.body["source_type"] == "SOURCE_TRUSTED_FLAGGER"


@pytest.mark.parametrize(
    ("rationale", "created_at", "field"),
    [("x" * 5001, None, "rationale"), ("fine", "1999-12-31T00:00:00Z", "statement.content_date")],
    ids=["facts too long", "content before 2000"],
)
def test_a_decision_whose_statement_would_be_refused_writes_nothing(
    anything_goes: World, rationale: str, created_at: str | None, field: str,
) -> None:
    world = anything_goes
    ids = world.add_subjects(account("acc"), item("post", "post", owner="acc", created_at=created_at))
    before = [_count(world, m) for m in (Decision, EnforcementAction, StatementOfReasons, AuditEvent, OutboxMessage)]
    with pytest.raises(FieldError) as refused:
        _decide(world, ids["post"], Action.REMOVE, rationale=rationale)
    assert refused.value.field == field and refused.value.status == 422
    assert [_count(world, m) for m in (Decision, EnforcementAction, StatementOfReasons, AuditEvent, OutboxMessage)] == before
    assert world.subject(ids["post"]).visibility == "visible"
    # A warning stores no statement, so the same long rationale does not stop it.
    _decide(world, ids["post"], Action.WARN, rationale=rationale)


def test_a_strike_whose_sanction_statement_would_be_refused_is_refused(anything_goes: World) -> None:
    ids = anything_goes.add_subjects(account("acc"), item("post", "post", owner="acc"))
    with pytest.raises(FieldError) as refused:
        _decide(anything_goes, ids["post"], Action.STRIKE, rationale="x" * 5001)
    assert refused.value.field == "rationale"
    assert anything_goes.actions() == []


def test_a_puid_is_unique_per_app_in_the_database(anything_goes: World) -> None:
    world = anything_goes
    ids = world.add_subjects(account("acc"), item("p1", "post", owner="acc"), item("p2", "post", owner="acc"))
    _decide(world, ids["p1"], Action.REMOVE)
    _decide(world, ids["p2"], Action.REMOVE)
    first, second = _statements(world)
    with world.db.session() as s:  # the second action's statement again, under the first one's puid
        s.delete(s.get_one(StatementOfReasons, second.id))
    duplicate = {c: getattr(second, c) for c in ("app_id", "decision_id", "action_id", "subject_id", "body", "created_at")}
    with pytest.raises(IntegrityError), world.db.session() as s:
        s.add(StatementOfReasons(**duplicate, puid=first.puid))
        s.flush()
    with world.db.session() as s:  # the same puid in another app is another statement
        other = App(slug="dating", name="Dating")
        s.add(other)
        s.flush()
        s.add(StatementOfReasons(**(duplicate | {"app_id": other.id}), puid=first.puid))
