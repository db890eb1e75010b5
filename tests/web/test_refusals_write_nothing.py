"""A decision refused part-way leaves nothing behind where its caller records the refusal and
commits the rest: a console page showing the error, a bulk item marked failed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict
from trustdesk.domain.vocabulary import Role
from trustdesk.enforcement.bulk import run_chunk, start_bulk
from trustdesk.enforcement.decisions import DecisionRequest
from trustdesk.notices import outcomes
from trustdesk.store.models import (
    Appeal, BulkItem, Case, Decision, EnforcementAction, StatementOfReasons, Subject, TextBank, TextBankEntry,
)

SETUP = Actor("test", "setup")


def _member(api: Api, settings: Settings, name: str, roles: list[str]) -> tuple[int, dict[str, str]]:
    with api.db.session() as s:
        user = staff.create_user(s, SETUP, settings, username=name, password="correct horse battery", roles=roles, with_totp=False)
        return user.id, {"Authorization": f"Bearer {api_clients.create_staff_token(s, SETUP, user, 'tests')[1]}"}


def _count(api: Api, model: Any) -> int:
    with api.db.reader() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_an_overturn_the_console_refuses_leaves_no_judging_decision(api: Api, settings: Settings) -> None:
    """The senior may not see the child-safety case the listing has since: the overturn is
    refused (the decision it would undo is out of sight), after the judging decision was written."""
    with api.db.session() as s:
        seed_queues(s, SETUP)
    _mia, as_mia = _member(api, settings, "mia", ["moderator"])
    sue, _as_sue = _member(api, settings, "sue", ["senior"])
    assert api.post("/api/v1/subjects/batch", {"items": [{"external_id": "seller-1", "kind": "account"},
        {"external_id": "lst-1", "kind": "listing", "account_external_id": "seller-1", "title": "cheap phone"}]}).status_code == 200
    assert api.post("/api/v1/reports", {"external_id": "r-1", "subject_external_id": "lst-1", "policy_code": "SCAM",
                                        "reporter_type": "anonymous"}).status_code == 201
    case = api.client.post("/api/v1/cases/next", headers=as_mia).json()["case"]
    decided = api.client.post(f"/api/v1/cases/{case['id']}/decision", headers=as_mia, json={
        "policy_code": "SCAM", "verdict": "violation", "actions": ["remove"], "rationale": "off-platform payment"})
    assert decided.status_code == 201, decided.text
    appeal = api.post("/api/v1/appeals", {"external_id": "ap-1", "statement": "mine", "decision_id": decided.json()["decision"]["id"]}).json()
    csrf = api.open_console(settings, sue)
    taken = api.client.post("/cases/next", headers=csrf, follow_redirects=False)
    assert taken.headers["location"].startswith(f"/cases/{appeal['case_id']}"), taken.headers
    assert api.post("/api/v1/reports", {"external_id": "r-2", "subject_external_id": "lst-1", "policy_code": "CSAM",
                                        "reporter_type": "anonymous"}).status_code == 201
    decisions = _count(api, Decision)
    refused = api.client.post(f"/cases/{appeal['case_id']}/appeal-outcome", headers=csrf,
                              data={"outcome": "overturned", "rationale": "the receipt is real"}, follow_redirects=False)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("text/html")
    assert _count(api, Decision) == decisions
    with api.db.reader() as s:
        assert s.get_one(Appeal, appeal["id"]).outcome is None
        assert s.get_one(Case, appeal["case_id"]).status == "open"
        assert s.execute(select(Subject.visibility).where(Subject.external_id == "lst-1")).scalar_one() == "removed"


def test_a_bulk_item_refused_after_its_decision_was_written_keeps_none_of_it(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise Conflict("case_id", "a notice may not go out")

    monkeypatch.setattr(outcomes, "after_decision", refuse)  # the last step of a decision
    assert api.post("/api/v1/subjects", {"external_id": "post-1", "kind": "post", "text": "spam spam"}).status_code == 201
    with api.db.reader() as s:
        post = s.execute(select(Subject.id).where(Subject.external_id == "post-1")).scalar_one()
    with api.db.session() as s:
        sam = staff.create_user(s, SETUP, settings, username="sam", password="correct horse battery", roles=list(Role), with_totp=False)
        op = start_bulk(s, sam.id, Actor("staff", "sam"), [post], DecisionRequest("SPAM", verdict="violation", actions=["remove"],
                                                                                  rationale="spam wave"))
        op_id = op.id
    while run_chunk(api.db, op_id):
        pass
    with api.db.reader() as s:
        item = s.execute(select(BulkItem).where(BulkItem.operation_id == op_id)).scalar_one()
        assert (item.status, item.detail) == ("failed", "case_id: a notice may not go out")
        assert s.get_one(Subject, post).visibility == "visible"
    assert (_count(api, Decision), _count(api, EnforcementAction), _count(api, StatementOfReasons)) == (0, 0, 0)


def test_entries_the_console_refuses_past_a_banks_limit_leave_the_bank_as_it_was(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Adding entries marks the bank changed before it counts them; refused, the page still
    commits, and the bank must not have been marked changed for every matcher."""
    monkeypatch.setattr("trustdesk.domain.text_banks.MAX_ENTRIES", 2)
    admin, _as_admin = _member(api, settings, "ada", ["admin"])
    csrf = api.open_console(settings, admin)
    made = api.client.post("/text-banks", headers=csrf, data={"name": "lures", "kind": "keyword"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    added = api.client.post("/text-banks/lures/entries", headers=csrf, data={"lines": "usdt"}, follow_redirects=False)
    assert added.status_code == 303, added.text
    with api.db.reader() as s:
        revision = s.execute(select(TextBank.revision).where(TextBank.name == "lures")).scalar_one()
    refused = api.client.post("/text-banks/lures/entries", headers=csrf, data={"lines": "bitcoin\nwire"}, follow_redirects=False)
    assert refused.status_code == 422 and "more are too many" in refused.text
    with api.db.reader() as s:
        assert s.execute(select(TextBank.revision).where(TextBank.name == "lures")).scalar_one() == revision
    assert _count(api, TextBankEntry) == 1
