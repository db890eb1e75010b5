"""The outcome panel of a decided case, and reversing a decision from it (console and API)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.store.models import AuditEvent, Case, EnforcementAction, Queue, Strike, Subject

SETUP = Actor("test", "setup")


def _user(api: Api, settings: Settings, username: str, role: Role, display_name: str) -> int:
    with api.db.session() as s:
        user = staff.create_user(s, SETUP, settings, username=username, password="long enough password", roles=[role], with_totp=False)
        user.display_name = display_name
        return user.id


def _decided_case(
    api: Api, reviewer_id: int | None, external_id: str = "acc-7", policy: str = "SCAM", actions: tuple[str, ...] = ("suspend", "strike"),
) -> tuple[int, int]:
    """A reported account decided with a week's suspension and a strike; (case id, decision id)."""
    with api.db.session() as s:
        seed_queues(s, SETUP)
    assert api.post("/api/v1/subjects", {"external_id": external_id, "kind": "account"}).status_code == 201
    report = {"external_id": f"r-{external_id}", "subject_external_id": external_id, "policy_code": policy, "reporter_type": "anonymous"}
    assert api.post("/api/v1/reports", report).status_code == 201
    with api.db.session() as s:
        case = s.execute(select(Case).order_by(Case.id.desc()).limit(1)).scalar_one()
        request = DecisionRequest(policy, verdict="violation", actions=list(actions), params={"days": 7},
                                  rationale="asked for gift cards up front", time_spent_ms=42_000)
        decision = decide_subject(s, SETUP, case.subject_id, request)
        decision.reviewer_id = reviewer_id
        return case.id, decision.id


def test_a_decided_case_shows_who_decided_why_and_what_it_did(api: Api, settings: Settings) -> None:
    senior = _user(api, settings, "sam", Role.SENIOR, "Sam Senior")
    case_id, decision_id = _decided_case(api, reviewer_id=senior)
    api.open_console(settings, senior)

    page = api.client.get(f"/cases/{case_id}")

    assert page.status_code == 200, page.text
    panel = page.text[page.text.index('data-testid="outcome"'):]
    assert f'data-decision="{decision_id}"' in panel
    assert re.search(r'data-testid="outcome-verdict">Violation<', panel)
    assert "Sam Senior" in panel and "42 s on the case" in panel
    assert "asked for gift cards up front" in panel
    kinds = re.findall(r'<a href="/actions/\d+">([a-z ]+)</a>', panel)
    assert sorted(kinds) == ["strike", "suspend", "warn"]  # a first strike's sanction is a warning
    assert "until " in panel  # the suspension's end
    assert re.search(r'data-testid="delivery-summary">not sent<', panel)
    assert "the user may appeal" in panel
    assert 'data-testid="reverse-form"' in panel


def test_a_moderator_sees_the_outcome_but_may_not_reverse_it(api: Api, settings: Settings) -> None:
    moderator = _user(api, settings, "mia", Role.MODERATOR, "Mia")
    case_id, decision_id = _decided_case(api, reviewer_id=None)
    csrf = api.open_console(settings, moderator)

    page = api.client.get(f"/cases/{case_id}")

    assert page.status_code == 200
    assert re.search(r"by\s+automation", page.text)
    assert 'data-testid="reverse-form"' not in page.text
    refused = api.client.post(f"/decisions/{decision_id}/reverse", data={"case_id": case_id, "reason": "no"}, headers=csrf)
    assert refused.status_code == 403


def test_reversing_from_the_case_withdraws_the_actions_and_strike_and_needs_a_reason(api: Api, settings: Settings) -> None:
    senior = _user(api, settings, "sam", Role.SENIOR, "Sam Senior")
    case_id, decision_id = _decided_case(api, reviewer_id=None)
    csrf = api.open_console(settings, senior)

    blank = api.client.post(f"/decisions/{decision_id}/reverse", data={"case_id": case_id, "reason": "  "}, headers=csrf)
    assert blank.status_code == 422 and "say why the decision is reversed" in blank.text
    with api.db.reader() as s:
        assert {a.status for a in s.execute(select(EnforcementAction).where(EnforcementAction.decision_id == decision_id)).scalars()} == {"applied"}

    done = api.client.post(f"/decisions/{decision_id}/reverse", data={"case_id": case_id, "reason": "wrong account"},
                           headers=csrf, follow_redirects=False)

    assert done.status_code == 303 and done.headers["location"] == f"/cases/{case_id}?notice=reversed"
    with api.db.reader() as s:
        actions = s.execute(select(EnforcementAction).where(EnforcementAction.decision_id == decision_id)).scalars().all()
        assert {a.status for a in actions} == {"undone"}
        account = s.execute(select(Subject).where(Subject.external_id == "acc-7")).scalar_one()
        assert account.visibility == "visible"
        assert s.execute(select(Strike).where(Strike.decision_id == decision_id)).scalar_one().revoked_at is not None
        undone = s.execute(select(AuditEvent).where(AuditEvent.verb == "action.undone")).scalars().all()
        assert undone and all(e.after["reason"] == "wrong account" for e in undone)
    page = api.client.get(f"/cases/{case_id}?notice=reversed")
    assert "Decision reversed" in page.text and 'data-testid="reverse-form"' not in page.text

    again = api.client.post(f"/api/v1/decisions/{decision_id}/reverse", json={"reason": "again"}, headers=api.staff_token(senior))
    assert (again.status_code, again.json()["field"]) == (409, "decision_id")


def test_the_api_reverses_a_decision_and_hides_one_the_caller_may_not_see(api: Api, settings: Settings) -> None:
    senior = _user(api, settings, "sam", Role.SENIOR, "Sam Senior")
    _case_id, decision_id = _decided_case(api, reviewer_id=None)
    headers = api.staff_token(senior)

    missing = api.client.post(f"/api/v1/decisions/{decision_id}/reverse", json={}, headers=headers)
    assert (missing.status_code, missing.json()["field"]) == (422, "reason")
    done = api.client.post(f"/api/v1/decisions/{decision_id}/reverse", json={"reason": "wrong account"}, headers=headers)
    assert done.status_code == 200, done.text
    assert len(done.json()["undone"]) == 3 and done.json()["skipped"] == []  # suspend, strike, and the warning it drew

    # A decision on a subject in a queue whose roles the senior lacks is not found, and stays.
    with api.db.session() as s:
        child_safety = s.execute(select(Queue).where(Queue.name == "Child safety")).scalar_one()
    _hidden_case, hidden = _decided_case(api, reviewer_id=None, external_id="acc-8", policy="UNDERAGE_USER", actions=("suspend",))
    with api.db.reader() as s:
        assert s.execute(select(Case).where(Case.id == _hidden_case)).scalar_one().queue_id == child_safety.id
    refused = api.client.post(f"/api/v1/decisions/{hidden}/reverse", json={"reason": "x"}, headers=headers)
    assert (refused.status_code, refused.json()["field"]) == (404, "decision_id")
    with api.db.reader() as s:
        statuses = {a.status for a in s.execute(select(EnforcementAction).where(EnforcementAction.decision_id == hidden)).scalars()}
        assert statuses == {"applied"}
