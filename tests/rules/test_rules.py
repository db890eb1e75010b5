"""Rules: saved as versions and checked at save time, evaluated on every report with their
inputs kept, live effects applied, shadow hits only recorded, failures recorded, not swallowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.cases.queues import seed_queues
from trustdesk.domain.errors import FieldError
from trustdesk.domain.rules import RuleMode, parse_rule
from trustdesk.rules import versions
from trustdesk.rules.engine import EXPRESSION_ERRORS
from trustdesk.store.models import (
    Case,
    Decision,
    Queue,
    Report,
    RuleEvaluation,
    RuleHit,
    RuleVersion,
    StatementOfReasons,
)

ADMIN = Actor("staff", "admin")


def _save(api: Api, **rule: Any) -> versions.Saved:
    with api.db.session() as s:
        return versions.save_rule(s, ADMIN, parse_rule({"mode": "live", **rule}), source="api")


def _setup(api: Api) -> None:
    with api.db.session() as s:
        seed_queues(s, ADMIN)
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc", "kind": "account"},
        {"external_id": "m1", "kind": "message", "account_external_id": "acc", "language": "en",
         "text": "send the fee in bitcoin to unlock your parcel"},
        {"external_id": "m2", "kind": "message", "account_external_id": "acc", "language": "en", "text": "see you soon"},
    ]})
    assert r.status_code == 200, r.text


def _report(api: Api, ext: str, subject: str, policy: str = "SPAM") -> Case:
    r = api.post("/api/v1/reports", {"external_id": ext, "subject_external_id": subject, "policy_code": policy,
                                     "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with api.db.reader() as s:
        return s.get_one(Case, s.get_one(Report, r.json()["id"]).case_id)


def test_a_rule_is_refused_with_the_field_at_fault() -> None:
    cases = [
        ({"name": "Bad Name", "expression": "true"}, "name"),
        ({"name": "r", "expression": " "}, "expression"),
        ({"name": "r", "expression": "true", "mode": "loud"}, "mode"),
        ({"name": "r", "expression": "true", "effects": [{"type": "route"}]}, "effects[0].queue"),
        ({"name": "r", "expression": "true", "effects": [{"type": "route", "queue": "Q", "priority": 500}]}, "effects[0].priority"),
        ({"name": "r", "expression": "true", "effects": [{"type": "label", "label": "Not A Label"}]}, "effects[0].label"),
        ({"name": "r", "expression": "true", "effects": [{"type": "action", "policy": "SPAM", "actions": []}]}, "effects[0].actions"),
        ({"name": "r", "expression": "true", "effects": [{"type": "shout"}]}, "effects[0].type"),
        ({"name": "r", "expression": "true", "colour": "red"}, "colour"),
    ]
    for data, field in cases:
        with pytest.raises(FieldError) as refused:
            parse_rule(data)
        assert refused.value.field == field, (data, refused.value)


def test_a_save_that_changes_something_is_a_new_version_and_a_broken_one_is_refused(api: Api) -> None:
    _setup(api)
    first = _save(api, name="fee_scam", expression="event.text.contains('fee')")
    same = _save(api, name="fee_scam", expression="event.text.contains('fee')")
    changed = _save(api, name="fee_scam", expression="subject.text.contains('fee')")
    assert (first.version.version, first.changed) == (1, True)
    assert (same.version.version, same.changed) == (1, False)
    assert (changed.version.version, changed.changed) == (2, True)
    refusals = [
        ({"expression": "subject.txt == ''"}, "expression"),  # no such field
        ({"expression": "nobody == 1"}, "expression"),  # no such variable
        ({"expression": "event.text.contains("}, "expression"),  # syntax
        ({"expression": "true", "effects": [{"type": "route", "queue": "Nowhere"}]}, "effects[0].queue"),
        ({"expression": "true", "effects": [{"type": "action", "policy": "NOPE", "actions": ["remove"]}]}, "effects[0].policy"),
        ({"expression": "true", "effects": [{"type": "action", "policy": "SPAM", "actions": ["reinstate"]}]}, "effects[0].actions"),
    ]
    for data, field in refusals:
        with pytest.raises(FieldError) as refused:
            _save(api, name="fee_scam", **data)
        assert refused.value.field == field, (data, refused.value)
    with api.db.reader() as s:
        assert s.execute(select(func.count()).select_from(RuleVersion)).scalar_one() == 2


def test_a_live_rule_routes_labels_and_raises_priority_and_a_shadow_rule_only_records(api: Api) -> None:
    _setup(api)
    _save(api, name="fee_scam", expression="subject.text.contains('bitcoin') && history.reports_24h >= 1",
          effects=[{"type": "route", "queue": "Marketplace", "priority": 50, "band": "P1"}, {"type": "label", "label": "crypto"}])
    _save(api, name="watch_everything", mode="shadow", expression="true",
          effects=[{"type": "route", "queue": "Imminent harm", "priority": 200}])
    hit = _report(api, "r1", "m1")
    miss = _report(api, "r2", "m2")
    with api.db.reader() as s:
        queues = {q.id: q.name for q in s.execute(select(Queue)).scalars()}
        assert (queues[hit.queue_id], hit.routed_by, hit.band, hit.labels) == ("Marketplace", "rule:fee_scam", "P1", ["crypto"])
        assert hit.priority_reasons["rules"] == 50.0
        assert (queues[miss.queue_id], miss.labels, "rules" in miss.priority_reasons) == ("General", [], False)
        hits = s.execute(select(RuleHit.subject_id, RuleHit.mode, RuleVersion.rule_id).join(RuleVersion)).all()
        assert sorted((h.subject_id, h.mode) for h in hits) == sorted([
            (hit.subject_id, "live"), (hit.subject_id, "shadow"), (miss.subject_id, "shadow")])
        evaluations = s.execute(select(RuleEvaluation).order_by(RuleEvaluation.id)).scalars().all()
        assert [(e.trigger, e.subject_id) for e in evaluations] == [("report", hit.subject_id), ("report", miss.subject_id)]
        seen = evaluations[0].inputs
        assert seen["event"] == {"type": "report", "policy": "SPAM", "source": "anonymous", "text": "", "imminent_harm": False}
        assert seen["history"]["reports_24h"] == 1 and seen["history"]["account_age_days"] == 0
        assert seen["subject"]["text"] == "send the fee in bitcoin to unlock your parcel"


def test_a_live_action_rule_decides_automatically_with_a_statement_of_reasons(api: Api) -> None:
    _setup(api)
    _save(api, name="fee_scam_takedown", expression="subject.text.contains('bitcoin')",
          effects=[{"type": "action", "policy": "SPAM", "actions": ["remove"]}])
    case = _report(api, "r1", "m1")
    with api.db.reader() as s:
        decision = s.execute(select(Decision).where(Decision.subject_id == case.subject_id)).scalar_one()
        assert (decision.kind, decision.verdict, decision.automated_decision) == ("automated", "violation", "fully")
        assert "fee_scam_takedown" in decision.rationale
        assert s.get_one(Case, case.id).status == "decided"
        statement = s.execute(select(StatementOfReasons).where(StatementOfReasons.decision_id == decision.id)).scalar_one()
        assert statement.body["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    # A second report on the removed message opens a case that the rule decides again: its reporter is answered.
    again = _report(api, "r2", "m1")
    with api.db.reader() as s:
        assert s.get_one(Case, again.id).status == "decided"
        kinds = s.execute(select(Decision.kind).where(Decision.subject_id == case.subject_id)).scalars().all()
        assert kinds == ["automated", "automated"]


def test_an_expression_that_fails_is_recorded_and_the_report_still_routes(api: Api) -> None:
    _setup(api)
    _save(api, name="divides", expression="100 / history.reports_7d > 1000")  # 7d reports: divides by zero never, but…
    _save(api, name="index_out_of_range", expression="signals[0].score > 0.5")
    with api.db.session() as s:
        s.execute(Queue.__table__.update().where(Queue.name == "Marketplace").values(routing_expression="signals[3].score > 0.1"))
    before = EXPRESSION_ERRORS.labels("rule")._value.get(), EXPRESSION_ERRORS.labels("queue")._value.get()
    case = _report(api, "r1", "m2")
    with api.db.reader() as s:
        evaluation = s.execute(select(RuleEvaluation)).scalar_one()
        failed = {(e["source"], e["name"]) for e in evaluation.errors}
        assert failed == {("rule", "index_out_of_range"), ("queue", "Marketplace")}
        assert case.routed_by == "fallback:Marketplace failed"
        assert s.get_one(Queue, case.queue_id).is_default
    after = EXPRESSION_ERRORS.labels("rule")._value.get(), EXPRESSION_ERRORS.labels("queue")._value.get()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_rules_sync_from_a_directory_creates_changes_and_disables(api: Api, tmp_path: Path) -> None:
    _setup(api)
    (tmp_path / "fee_scam.toml").write_text('expression = "subject.text.contains(\'fee\')"\nname = "fee_scam"\nmode = "live"\n')
    (tmp_path / "watch.toml").write_text('name = "watch"\nexpression = "true"\n')
    with api.db.session() as s:
        assert versions.sync_directory(s, ADMIN, tmp_path) == {
            "created": ["fee_scam", "watch"], "changed": [], "unchanged": [], "disabled": [], "kept": []}
    (tmp_path / "watch.toml").unlink()
    (tmp_path / "fee_scam.toml").write_text('name = "fee_scam"\nmode = "shadow"\nexpression = "subject.text.contains(\'fee\')"\n')
    with api.db.session() as s:
        assert versions.sync_directory(s, ADMIN, tmp_path) == {
            "created": [], "changed": ["fee_scam"], "unchanged": [], "disabled": ["watch"], "kept": []}
    with api.db.session() as s:
        assert versions.sync_directory(s, ADMIN, tmp_path)["unchanged"] == ["fee_scam"]
        current = {rule.name: (version.version, version.mode) for rule, version in versions.current_versions(s)}
        assert current == {"fee_scam": (2, "shadow"), "watch": (2, "disabled")}
    (tmp_path / "broken.toml").write_text('name = "broken"\nexpression = "subject.nope"\n')
    with api.db.session() as s, pytest.raises(FieldError) as refused:
        versions.sync_directory(s, ADMIN, tmp_path)
    assert refused.value.field == "expression" and "broken.toml" in refused.value.message


def test_setting_a_mode_is_a_new_version_so_hits_keep_the_mode_they_had(api: Api) -> None:
    _setup(api)
    _save(api, name="watch", mode="shadow", expression="true")
    _report(api, "r1", "m1")
    with api.db.session() as s:
        saved = versions.set_mode(s, ADMIN, "watch", RuleMode.LIVE, source="console")
    assert saved.version.version == 2
    _report(api, "r2", "m2")
    with api.db.reader() as s:
        hits = s.execute(select(RuleVersion.version, RuleHit.mode).join(RuleVersion).order_by(RuleHit.id)).all()
        assert [tuple(h) for h in hits] == [(1, "shadow"), (2, "live")]


def test_concurrent_saves_of_one_rule_number_their_versions_in_turn(api: Api) -> None:
    _setup(api)
    together([lambda n=n: _save(api, name="raced", expression=f"history.reports_7d > {n}") for n in range(8)])
    with api.db.reader() as s:
        numbers = s.execute(select(RuleVersion.version).order_by(RuleVersion.version)).scalars().all()
        assert numbers == list(range(1, 9))


def test_concurrent_mode_changes_of_one_rule_number_their_versions_in_turn(api: Api) -> None:
    """`set_mode` reads the rule before it locks it: the lock must read its version again."""
    _setup(api)
    _save(api, name="watch", mode="shadow", expression="true")

    def flip(n: int) -> None:
        with api.db.session() as s:
            versions.set_mode(s, ADMIN, "watch", RuleMode.LIVE if n % 2 else RuleMode.DISABLED, source="api")

    together([lambda n=n: flip(n) for n in range(8)])  # a change to the mode the rule has already makes no version
    with api.db.reader() as s:
        numbers = s.execute(select(RuleVersion.version).order_by(RuleVersion.version)).scalars().all()
        assert len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1))


def test_a_backtest_of_the_unchanged_live_version_reproduces_the_recorded_hits(api: Api) -> None:
    from datetime import timedelta

    from trustdesk.domain.rules import parse_rule as draft_of
    from trustdesk.rules.backtest import backtest
    from trustdesk.store.models import utcnow

    _setup(api)
    start = utcnow() - timedelta(seconds=1)
    _save(api, name="busy_account", expression="history.reports_24h >= 2", effects=[{"type": "label", "label": "busy"}])
    for n, subject in enumerate(["m1", "m2", "m1", "m2", "m1"]):
        _report(api, f"r{n}", subject)
    with api.db.reader() as s:
        result = backtest(s, "busy_account", start, utcnow() + timedelta(seconds=1))
        recorded = s.execute(select(RuleHit.evaluation_id).where(RuleHit.mode == "live").order_by(RuleHit.evaluation_id)).scalars().all()
        assert result.replayed == 5 and result.errors == 0
        # The account's second report onwards: the history each report saw, not today's.
        assert result.matched == result.recorded == list(recorded) and len(recorded) == 4
        assert (result.added, result.dropped) == ([], [])
        stricter = backtest(s, "busy_account", start, utcnow() + timedelta(seconds=1),
                            draft=draft_of({"name": "busy_account", "expression": "history.reports_24h >= 4"}))
        assert (len(stricter.matched), stricter.added, stricter.dropped) == (2, [], recorded[:2])
        assert stricter.version is None and result.version == 1


def test_rules_see_the_text_banks_their_subject_matched(api: Api) -> None:
    from trustdesk.domain.text_banks import TextBankSpec, TextEntry
    from trustdesk.text_banks import banks

    _setup(api)
    with api.db.session() as s:
        bank = banks.create_bank(s, ADMIN, TextBankSpec("fee_words", "phrase", app="dating", language="en"))
        banks.add_entries(s, ADMIN, bank, [TextEntry("send the fee"), TextEntry("gift card")], source="test")
    _save(api, name="fee_pitch", expression="'fee_words' in text_banks", effects=[{"type": "label", "label": "fee"}])
    pitched, quiet = _report(api, "r1", "m1"), _report(api, "r2", "m2")
    assert (pitched.labels, quiet.labels) == (["fee"], [])
    with api.db.reader() as s:
        seen = [e.inputs["text_banks"] for e in s.execute(select(RuleEvaluation).order_by(RuleEvaluation.id)).scalars()]
        assert seen == [["fee_words"], []]
