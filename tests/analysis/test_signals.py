"""Signals in the database: intake queues the analysis, the worker stores signals once, and new
signals re-score and re-route the subject's open case, which shows them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.factories import SETUP, queue, reviewer
from tests.conftest import Api
from trustdesk.analysis.analysers import Analyser, AnalyserRegistry, SignalFound, SubjectView
from trustdesk.analysis import runs
from trustdesk.analysis.runs import analyse
from trustdesk.analysis.signals import LatestSignal
from trustdesk.audit.verify import verify_chain
from trustdesk.cases import routing
from trustdesk.config import Settings
from trustdesk.domain.roles import REVIEWERS
from trustdesk.domain.rules import parse_rule
from trustdesk.jobs.worker import run_worker
from trustdesk.rules.engine import EXPRESSION_ERRORS
from trustdesk.rules.versions import save_rule
from trustdesk.store.models import AuditEvent, Case, Job, Report, Rule, RuleEvaluation, RuleHit, Signal, Subject

SCAM_ROUTE = "signals.exists(s, s.label == 'spam_scam' && s.score >= 0.8)"
SCAM_TEXT = "send bitcoin to my wallet and I double your crypto investment, guaranteed profit"


class Fixed(Analyser):
    """Says what the test wants it to say, at the version it is given."""

    name = "fixed"

    def __init__(self, score: float, version: str = "v1") -> None:
        self.score, self._version = score, version

    @property
    def version(self) -> str:
        return self._version

    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        return [SignalFound("spam_scam", score=self.score, evidence={"why": "test"})]


def _registry(score: float, version: str = "v1") -> AnalyserRegistry:
    registry = AnalyserRegistry(group=None)
    registry.register(Fixed(score, version))
    return registry


def _subject(api: Api, ext: str = "msg", text: str = "hello there") -> int:
    r = api.post("/api/v1/subjects", {"external_id": ext, "kind": "message", "text": text, "language": "en"})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


def _report(api: Api, subject_ext: str = "msg", ext: str = "r1") -> Case:
    r = api.post("/api/v1/reports", {"external_id": ext, "subject_external_id": subject_ext, "policy_code": "SPAM",
                                     "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with api.db.reader() as s:
        return s.get_one(Case, s.get_one(Report, r.json()["id"]).case_id)


def _queues(api: Api) -> dict[str, int]:
    with api.db.session() as s:
        general = queue(s, "General")
        scams = queue(s, "Scams", routing_expression=SCAM_ROUTE, position=1)
        return {"General": general.id, "Scams": scams.id}


def test_intake_queues_one_analysis_per_batch_and_the_worker_stores_the_text_signals(api: Api, settings: Settings) -> None:
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc", "kind": "account"},
        {"external_id": "m1", "kind": "message", "account_external_id": "acc", "text": SCAM_TEXT},
        {"external_id": "m2", "kind": "listing", "account_external_id": "acc", "title": "Old bike"},
    ]})
    assert r.status_code == 200, r.text
    ids = {item["external_id"]: item["id"] for item in r.json()["items"]}
    with api.db.reader() as s:
        jobs = s.execute(select(Job.payload).where(Job.kind == "analyse_subject")).scalars().all()
    assert jobs == [{"subject_ids": [ids["m1"], ids["m2"]]}]  # the account has nothing to analyse

    assert run_worker(api.db, settings, worker_id="w1", once=True) >= 1  # webhook delivery may come due too
    with api.db.reader() as s:
        stored = s.execute(select(Signal.subject_id, Signal.analyser, Signal.label, Signal.score, Signal.model_version)).all()
        assert s.execute(select(Job.status).where(Job.kind == "analyse_subject")).scalar_one() == "done"
    assert {(row.subject_id, row.label) for row in stored} == {(ids[m], label) for m in ("m1", "m2")
                                                             for label in ("offensive", "hate", "spam_scam")}
    assert {row.analyser for row in stored} == {"text_classifier"} and len({row.model_version for row in stored}) == 1
    scam = next(row for row in stored if (row.subject_id, row.label) == (ids["m1"], "spam_scam"))
    assert scam.score > 0.5


def test_a_re_run_stores_nothing_new_and_changed_content_or_a_new_version_does(api: Api) -> None:
    subject_id = _subject(api)
    with api.db.session() as s:
        assert analyse(s, SETUP, [subject_id], _registry(0.3)) == {subject_id: 1}
    with api.db.session() as s:
        assert analyse(s, SETUP, [subject_id], _registry(0.3)) == {subject_id: 0}
    r = api.client.patch("/api/v1/subjects/msg", json={"text": "hello again"}, headers=api.auth)
    assert r.status_code == 200, r.text
    with api.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Job).where(Job.kind == "analyse_subject")).scalar_one() == 2
    with api.db.session() as s:
        assert analyse(s, SETUP, [subject_id], _registry(0.3)) == {subject_id: 1}
        assert analyse(s, SETUP, [subject_id], _registry(0.3, "v2")) == {subject_id: 1}
        assert analyse(s, SETUP, [subject_id, 10**6], _registry(0.3, "v2")) == {subject_id: 0}  # a gone subject is skipped
    with api.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Signal)).scalar_one() == 3


def test_a_signal_that_arrives_re_routes_and_re_scores_the_open_case(api: Api) -> None:
    queues = _queues(api)
    subject_id = _subject(api)
    before = _report(api)
    assert before.queue_id == queues["General"] and "signals" not in before.priority_reasons
    with api.db.session() as s:
        analyse(s, SETUP, [subject_id], _registry(0.95))
    with api.db.reader() as s:
        after = s.get_one(Case, before.id)
        events = {e.verb: e for e in s.execute(select(AuditEvent).where(AuditEvent.object_id == str(before.id))).scalars()}
        assert verify_chain(s).ok
    assert after.queue_id == queues["Scams"] and after.routed_by == "queue:Scams"
    assert after.priority_reasons["signals"] == 36.0  # 80 × (0.95 − 0.5)
    assert after.priority_score == before.priority_score + 36.0
    assert events["case.rerouted"].before["queue_id"] == queues["General"]
    assert events["case.rerouted"].after["queue_id"] == queues["Scams"]
    assert events["case.rescored"].after["reasons"]["signals"] == 36.0

    with api.db.session() as s:  # a weaker signal on new content: the score drops back, the case goes back
        s.get_one(Subject, subject_id).body_hash = "changed"
        analyse(s, SETUP, [subject_id], _registry(0.1))
    with api.db.reader() as s:
        back = s.get_one(Case, before.id)
    assert back.queue_id == queues["General"] and "signals" not in back.priority_reasons
    assert back.priority_score == before.priority_score


def test_a_report_on_a_subject_with_signals_is_routed_and_scored_by_them(api: Api) -> None:
    queues = _queues(api)
    subject_id = _subject(api)
    with api.db.session() as s:
        analyse(s, SETUP, [subject_id], _registry(1.0))
    case = _report(api)
    assert case.queue_id == queues["Scams"] and case.priority_reasons["signals"] == 40.0
    joined = _report(api, ext="r2")  # the next report keeps the signals component
    assert joined.id == case.id and joined.priority_reasons["signals"] == 40.0


def test_the_case_page_and_the_case_file_show_the_subjects_signals(api: Api, settings: Settings) -> None:
    _queues(api)
    subject_id = _subject(api)
    case = _report(api)
    with api.db.session() as s:
        mod = reviewer(s, settings, "mod", [REVIEWERS[0]])
    page = api.client.get(f"/cases/{case.id}", headers=api.open_console(settings, mod.id))
    assert page.status_code == 200 and "No automated signals yet." in page.text

    with api.db.session() as s:
        analyse(s, SETUP, [subject_id], _registry(0.75, "model-7"))
    page = api.client.get(f"/cases/{case.id}")
    assert page.status_code == 200, page.text
    assert "No automated signals yet." not in page.text
    for shown in ("fixed", "spam_scam", "0.75", "model-7", "signals +20"):
        assert shown in page.text, shown
    found = api.client.get(f"/api/v1/cases/{case.id}", headers=api.staff_token(mod.id))
    assert found.status_code == 200, found.text
    assert [(g["analyser"], g["label"], g["score"], g["model_version"]) for g in found.json()["signals"]] == [
        ("fixed", "spam_scam", 0.75, "model-7")]


def test_a_case_a_reviewer_flagged_as_imminent_harm_stays_on_the_imminent_harm_route(api: Api, settings: Settings) -> None:
    queues = _queues(api)
    with api.db.session() as s:
        queues["Urgent"] = queue(s, "Urgent", routing_expression="report.imminent_harm", position=0).id
        mod = reviewer(s, settings, "mod", [REVIEWERS[0]])
    subject_id = _subject(api)
    case = _report(api)
    with api.db.session() as s:
        assert routing.flag_imminent_harm(s, SETUP, mod, case.id, "threatens to hurt himself").queue_id == queues["Urgent"]
        analyse(s, SETUP, [subject_id], _registry(0.95))
    with api.db.reader() as s:
        flagged = s.get_one(Case, case.id)
    assert flagged.queue_id == queues["Urgent"] and flagged.priority_reasons["signals"] == 36.0


def test_analysers_are_told_which_subjects_have_been_reported(api: Api) -> None:
    from trustdesk.analysis.signals import subject_views

    reported, quiet = _subject(api, "msg"), _subject(api, "other")
    _report(api, "msg")
    with api.db.reader() as s:
        assert [(v.id, v.reported) for v in subject_views(s, [quiet, reported])] == sorted([(reported, True), (quiet, False)])


class Slow(Fixed):
    """Takes its time, during which someone else writes: intake, say, while a model runs."""

    name = "slow"

    def __init__(self, api: Api) -> None:
        super().__init__(0.9)
        self.api, self.wrote = api, False

    def analyse_many(self, subjects: Sequence[SubjectView]) -> list[list[SignalFound]]:
        writer = threading.Thread(target=_subject, args=(self.api, "written-meanwhile", "a message that arrives meanwhile"))
        writer.start()
        writer.join(timeout=10)  # were the job's write transaction open, this write would wait for it
        self.wrote = not writer.is_alive()
        return super().analyse_many(subjects)


def test_the_worker_lets_analysers_look_before_it_takes_the_write_lock(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    subject_id = _subject(api, "m1", SCAM_TEXT)
    slow = Slow(api)
    registry = AnalyserRegistry(group=None)
    registry.register(slow)
    monkeypatch.setattr(runs, "analysers_for", lambda _db, _blobs: registry)
    assert run_worker(api.db, settings, worker_id="w1", once=True) >= 1
    assert slow.wrote
    with api.db.reader() as s:
        stored = s.execute(select(Signal.subject_id, Signal.analyser)).all()
        written = s.execute(select(Subject.id).where(Subject.external_id == "written-meanwhile")).scalar_one_or_none()
    assert (subject_id, "slow") in stored and written is not None


def _worker_with(api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], None]) -> list[int]:
    """Run the worker's analysis job with the fixed analyser (score 0.95), doing `meanwhile`
    after it has evaluated from its read and before its write transaction; how many events
    each evaluation in the write transaction took."""
    monkeypatch.setattr(runs, "analysers_for", lambda _db, _blobs: _registry(0.95))
    real_foresee, real_judge = runs.foresee, routing._judge
    judged: list[int] = []

    def foresee(session: Session, signals: dict[int, list[LatestSignal]]) -> routing.Foreseen:
        foreseen = real_foresee(session, signals)
        assert foreseen.routed, "the read evaluated nothing"
        meanwhile()
        monkeypatch.setattr(routing, "_judge", lambda *args: judged.append(len(args[3])) or real_judge(*args))
        return foreseen

    monkeypatch.setattr(runs, "foresee", foresee)
    assert run_worker(api.db, settings, worker_id="w1", once=True) >= 1
    return judged


def _evaluation(api: Api, subject_id: int) -> tuple[RuleEvaluation, list[str]]:
    """The subject's evaluation on its signals, and the names of the rules it hit."""
    with api.db.reader() as s:
        evaluation = s.execute(select(RuleEvaluation).where(RuleEvaluation.subject_id == subject_id,
                                                            RuleEvaluation.trigger == "signals")).scalar_one()
        hits = s.execute(select(Rule.name).join(RuleHit, RuleHit.rule_id == Rule.id)
                         .where(RuleHit.evaluation_id == evaluation.id)).scalars().all()
    return evaluation, list(hits)


def test_the_worker_evaluates_the_rules_before_its_write_transaction(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _queues(api)
    subject_id = _subject(api, "m1", SCAM_TEXT)
    judged = _worker_with(api, settings, monkeypatch, lambda: None)
    assert judged == [0]  # nothing changed: the write transaction took what the read evaluated
    evaluation, _hits = _evaluation(api, subject_id)
    assert [(s["analyser"], s["score"]) for s in evaluation.inputs["signals"]] == [("fixed", 0.95)]


def test_a_report_filed_after_the_read_is_what_the_rules_see(api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    queues = _queues(api)
    subject_id = _subject(api, "msg", SCAM_TEXT)
    reported: list[Case] = []
    judged = _worker_with(api, settings, monkeypatch, lambda: reported.append(_report(api)))
    assert judged == [1]
    evaluation, _hits = _evaluation(api, subject_id)
    assert evaluation.inputs["policy"]["code"] == "SPAM" and evaluation.inputs["event"]["source"] == "anonymous"
    with api.db.reader() as s:  # routed again with its signals, as the report's case now is
        case = s.get_one(Case, reported[0].id)
    assert reported[0].queue_id == queues["General"] and case.queue_id == queues["Scams"]


def test_a_rule_saved_after_the_read_is_applied(api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _queues(api)
    subject_id = _subject(api, "m1", SCAM_TEXT)

    def save() -> None:
        with api.db.session() as s:
            save_rule(s, SETUP, parse_rule({"name": "scam_label", "mode": "live", "expression": SCAM_ROUTE,
                                            "effects": [{"type": "label", "label": "scam"}]}), source="api")

    judged = _worker_with(api, settings, monkeypatch, save)
    assert judged == [1]
    assert _evaluation(api, subject_id)[1] == ["scam_label"]


def test_an_expression_that_fails_is_counted_once_when_the_write_evaluates_again(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read's evaluation is not kept when a report came in meanwhile: its error is not
    counted either. The metric counts the errors of the evaluations kept."""
    _queues(api)
    subject_id = _subject(api, "msg", SCAM_TEXT)
    with api.db.session() as s:
        save_rule(s, SETUP, parse_rule({"name": "out_of_range", "mode": "shadow", "expression": "signals[3].score > 0.5"}), source="api")
    before = EXPRESSION_ERRORS.labels("rule")._value.get()
    judged = _worker_with(api, settings, monkeypatch, lambda: _report(api))
    assert judged == [1]  # evaluated again in the write transaction
    evaluation, _hits = _evaluation(api, subject_id)
    assert [e["name"] for e in evaluation.errors] == ["out_of_range"]
    with api.db.reader() as s:
        kept = [e for errors in s.execute(select(RuleEvaluation.errors)).scalars() for e in errors]
    assert len(kept) == 2  # on the report's evaluation and on the signals'
    assert EXPRESSION_ERRORS.labels("rule")._value.get() - before == len(kept)
