"""Synchronous verdicts: `/evaluate` answers allow, review or block on the spot, stores the subject
as intake does, decides or opens a case like the rules do at intake, answers the same content
the same way again; batches are checked by the worker and announced through the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.concurrency import together
from tests.conftest import Api
from tests.jobs.last_attempt import every_attempt_died
from trustdesk.analysis.runs import analyse
from trustdesk.audit.log import Actor
from trustdesk.cases.queues import QueueSpec, save_queue, seed_queues
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.rules import parse_rule
from trustdesk.jobs.worker import run_worker
from trustdesk.rules import versions
from trustdesk.store.models import (
    App,
    Case,
    Decision,
    OutboxMessage,
    Queue,
    Report,
    RuleEvaluation,
    RuleHit,
    StatementOfReasons,
    Subject,
)
from trustdesk.web.api.evaluate import VerdictOut

ADMIN = Actor("staff", "admin")
SCAM = "send the fee in bitcoin to unlock your parcel"
FEE = "a small delivery fee applies"


def _rules(api: Api) -> None:
    with api.db.session() as s:
        seed_queues(s, ADMIN)
        for rule in (
            {"name": "bitcoin_takedown", "expression": "subject.text.contains('bitcoin')",
             "effects": [{"type": "action", "policy": "SPAM", "actions": ["remove"]}]},
            {"name": "fee_review", "expression": "subject.text.contains('fee')",
             "effects": [{"type": "route", "queue": "Marketplace", "priority": 30}]},
            {"name": "watch", "mode": "shadow", "expression": "true", "effects": []},
        ):
            versions.save_rule(s, ADMIN, parse_rule({"mode": "live", **rule}), source="api")


def _evaluate(api: Api, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = api.post("/api/v1/evaluate", body)
    assert r.status_code == status, r.text
    if status == 200:  # the answer is sent without FastAPI's response validation: it keeps the documented shape
        assert r.headers["content-type"] == "application/json"
        assert VerdictOut.model_validate(r.json()).model_dump(mode="json", exclude_none=True) == r.json()
    return r.json()


def _count(api: Api, model: Any, *where: Any) -> int:
    with api.db.reader() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_content_no_live_rule_matches_is_allowed_and_stored_as_intake_stores_it(api: Api) -> None:
    _rules(api)
    answer = _evaluate(api, {"external_id": "m1", "kind": "message", "text": "see you at six", "context": {"source": "pre_publication"}})
    assert (answer["verdict"], answer["reasons"]) == ("allow", [])
    assert "decision_id" not in answer and "case_id" not in answer
    assert sorted(s["label"] for s in answer["signals"]) == ["hate", "offensive", "spam_scam"]
    with api.db.reader() as s:
        subject = s.execute(select(Subject).where(Subject.external_id == "m1")).scalar_one()
        evaluation = s.get_one(RuleEvaluation, answer["evaluation_id"])
        assert (subject.text, evaluation.trigger, evaluation.subject_id) == ("see you at six", "evaluate", subject.id)
        assert evaluation.inputs["event"] == {"type": "evaluate", "policy": "", "source": "pre_publication", "text": "",
                                              "imminent_harm": False}
    assert _count(api, Case) == 0
    # The subject is the intake's: the same content through the subjects API is an identical retry.
    r = api.post("/api/v1/subjects", {"external_id": "m1", "kind": "message", "text": "see you at six"})
    assert (r.status_code, r.json()["status"]) == (200, "existing")


def test_a_live_action_blocks_with_one_automated_decision_its_statement_and_webhook(api: Api) -> None:
    _rules(api)
    with api.db.session() as s:
        add_endpoint(s, ADMIN, SecretBox(api.client.app.state.settings.secret_key), s.get_one(App, api.app_id),
                     "http://127.0.0.1:9/hooks", production=False)
    body = {"external_id": "m1", "kind": "message", "text": SCAM}
    answer = _evaluate(api, body)
    assert answer["verdict"] == "block"
    assert answer["reasons"] == [{"rule": "bitcoin_takedown", "version": 1,
                                  "effects": [{"type": "action", "policy": "SPAM", "actions": ["remove"]}]},
                                 {"rule": "fee_review", "version": 1,
                                  "effects": [{"type": "route", "queue": "Marketplace", "priority": 30}]}]
    with api.db.reader() as s:
        decision = s.get_one(Decision, answer["decision_id"])
        assert (decision.kind, decision.verdict, decision.automated_decision) == ("automated", "violation", "fully")
        statement = s.execute(select(StatementOfReasons).where(StatementOfReasons.decision_id == decision.id)).scalar_one()
        assert statement.body["automated_decision"] == "AUTOMATED_DECISION_FULLY"
        events = s.execute(select(OutboxMessage.event_type).where(OutboxMessage.subject_id == decision.subject_id)).scalars().all()
        assert events == ["action.applied", "notice.requested"]  # the statement goes to the user through the host
    assert _evaluate(api, body) == answer  # the same content again: the kept answer, nothing more
    assert (_count(api, Decision), _count(api, OutboxMessage), _count(api, RuleEvaluation)) == (1, 2, 1)


def test_review_opens_a_case_or_joins_the_open_one_and_the_same_content_opens_nothing_more(api: Api) -> None:
    _rules(api)
    answer = _evaluate(api, {"external_id": "l1", "kind": "listing", "text": FEE, "context": {"policy_code": "SCAM"}})
    assert answer["verdict"] == "review"
    assert [r["rule"] for r in answer["reasons"]] == ["fee_review"]
    with api.db.reader() as s:
        case = s.get_one(Case, answer["case_id"])
        report = s.execute(select(Report).where(Report.case_id == case.id)).scalar_one()
        assert (case.status, case.routed_by, s.get_one(Queue, case.queue_id).name) == ("open", "rule:fee_review", "Marketplace")
        assert (report.reporter_type, report.policy_code, report.external_id) == ("automated", "SCAM", f"evaluation-{answer['evaluation_id']}")
        assert report.text == "Automated: rule fee_review (version 1) matched."
    assert _evaluate(api, {"external_id": "l1", "kind": "listing", "text": FEE, "context": {"policy_code": "SCAM"}}) == answer
    assert (_count(api, Case), _count(api, Report)) == (1, 1)
    # The automated report is routed by the check's evaluation, not evaluated again: one evaluation, its hits once.
    assert _count(api, RuleEvaluation) == 1
    assert _count(api, RuleHit) == 2  # fee_review, and the shadow rule that matches everything

    # A subject with an open case: the review joins it; without a policy the report is filed under OTHER.
    r = api.post("/api/v1/subjects", {"external_id": "l2", "kind": "listing", "text": "old text"})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/reports", {"external_id": "r1", "subject_external_id": "l2", "policy_code": "SPAM", "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    changed = _evaluate(api, {"external_id": "l2", "kind": "listing", "text": f"new text: {FEE}"})
    with api.db.reader() as s:
        l2 = s.execute(select(Subject.id).where(Subject.external_id == "l2")).scalar_one()
        opened = s.execute(select(Case).where(Case.subject_id == l2)).scalar_one()
        assert (changed["verdict"], changed["case_id"], opened.report_count) == ("review", opened.id, 2)
        assert s.execute(select(Subject.text).where(Subject.external_id == "l2")).scalar_one() == f"new text: {FEE}"
        assert s.execute(select(Report.policy_code).where(Report.reporter_type == "automated", Report.case_id == opened.id)).scalar_one() == "OTHER"


def test_checks_of_a_stored_subject_sent_at_once_get_one_answer_and_file_one_report(api: Api) -> None:
    _rules(api)
    body = {"external_id": "l1", "kind": "listing", "text": FEE, "context": {"policy_code": "SCAM"}}
    r = api.post("/api/v1/subjects", {key: body[key] for key in ("external_id", "kind", "text")})  # stored before any check
    assert r.status_code == 201, r.text
    answers: list[Any] = [None] * 6

    def check(n: int) -> None:
        answers[n] = api.post("/api/v1/evaluate", body)

    together([lambda n=n: check(n) for n in range(len(answers))])
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers if a.status_code != 200]
    assert len({a.text for a in answers}) == 1 and answers[0].json()["verdict"] == "review"
    assert (_count(api, RuleEvaluation), _count(api, Report), _count(api, Case)) == (1, 1, 1)


def test_a_review_without_a_queue_is_routed_by_the_queues_on_what_its_evaluation_saw(api: Api) -> None:
    """A label asks for review without naming a queue: the queues' expressions route the case, on
    the inputs the check's evaluation saw, and one that fails is recorded on that evaluation."""
    _rules(api)
    with api.db.session() as s:
        save_queue(s, ADMIN, QueueSpec(name="Broken", routing_expression="signals[9].score > 0.5", position=1))
        save_queue(s, ADMIN, QueueSpec(name="Pre-publication", routing_expression="report.source == 'pre_publication'", position=2))
        versions.save_rule(s, ADMIN, parse_rule({"name": "gift_label", "mode": "live", "expression": "subject.text.contains('gift')",
                                                 "effects": [{"type": "label", "label": "gift"}]}), source="api")
    answer = _evaluate(api, {"external_id": "g1", "kind": "message", "text": "a gift for you", "context": {"source": "pre_publication"}})
    assert answer["verdict"] == "review"
    with api.db.reader() as s:
        case = s.get_one(Case, answer["case_id"])
        assert (case.routed_by, s.get_one(Queue, case.queue_id).is_default, case.labels) == ("fallback:Broken failed", True, ["gift"])
        evaluation = s.execute(select(RuleEvaluation)).scalar_one()  # the check's only
        assert evaluation.id == answer["evaluation_id"]
        assert [(e["source"], e["name"]) for e in evaluation.errors] == [("queue", "Broken")]
    with api.db.session() as s:  # without the failing queue, the next one routes it on the check's own source
        broken = s.execute(select(Queue).where(Queue.name == "Broken")).scalar_one()
        save_queue(s, ADMIN, QueueSpec(name="Broken", routing_expression="false", position=1), broken.id)
    answer = _evaluate(api, {"external_id": "g2", "kind": "message", "text": "another gift", "context": {"source": "pre_publication"}})
    with api.db.reader() as s:
        case = s.get_one(Case, answer["case_id"])
        assert (case.routed_by, s.get_one(Queue, case.queue_id).name) == ("queue:Pre-publication", "Pre-publication")


def test_refusals_name_the_field(api: Api) -> None:
    _rules(api)
    for body, status, field in (
        ({"external_id": "m1", "text": "hi"}, 422, "kind"),
        ({"external_id": "m1", "kind": "message", "context": {"policy_code": "NOPE"}}, 422, "context.policy_code"),
        ({"external_id": "m1", "kind": "message", "context": {"colour": "red"}}, 422, "context.colour"),
        ({"external_id": "m1", "kind": "message", "parent_external_id": "nobody"}, 404, "parent_external_id"),
    ):
        r = api.post("/api/v1/evaluate", body)
        assert (r.status_code, r.json()["field"]) == (status, field), r.text
    assert _evaluate(api, {"external_id": "m1", "kind": "message", "text": "hi"})["verdict"] == "allow"
    r = api.post("/api/v1/evaluate", {"external_id": "m1", "kind": "post", "text": "hi"})
    assert (r.status_code, r.json()["field"]) == (409, "kind")
    r = api.post("/api/v1/evaluate/batch", {"items": [{"external_id": f"b{n}", "kind": "message"} for n in range(1001)]})
    assert (r.status_code, r.json()["field"]) == (422, "items")
    r = api.client.get("/api/v1/evaluate/batch/999", headers=api.auth)
    assert (r.status_code, r.json()["field"]) == (404, "job_id")


def test_a_batch_is_checked_by_the_worker_and_announced(api: Api, settings: Settings) -> None:
    _rules(api)
    with api.db.session() as s:
        add_endpoint(s, ADMIN, SecretBox(settings.secret_key), s.get_one(App, api.app_id), "http://127.0.0.1:9/hooks", production=False)
    r = api.post("/api/v1/evaluate/batch", {"items": [
        {"external_id": "b1", "kind": "message", "text": "hello there"},
        {"external_id": "b2", "kind": "message", "text": SCAM},
        {"external_id": "b3", "kind": "message", "parent_external_id": "nobody"},
        {"external_id": "b4", "kind": "listing", "text": FEE},
    ]})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    queued = api.client.get(f"/api/v1/evaluate/batch/{job_id}", headers=api.auth)
    assert queued.status_code == 200, queued.text
    assert (queued.json()["status"], queued.json()["item_count"], queued.json()["results"]) == ("queued", 4, None)

    run_worker(api.db, settings, worker_id="w", once=True)
    done = api.client.get(f"/api/v1/evaluate/batch/{job_id}", headers=api.auth).json()
    results = done["results"]
    assert done["status"] == "done"
    assert [(x["external_id"], x.get("verdict")) for x in results] == [("b1", "allow"), ("b2", "block"), ("b3", None), ("b4", "review")]
    assert results[2]["error"] == {"field": "parent_external_id", "message": "no subject 'nobody' in this app"}
    with api.db.reader() as s:
        assert s.get_one(Decision, results[1]["decision_id"]).kind == "automated"
        assert s.get_one(Case, results[3]["case_id"]).status == "open"
        announced = s.execute(select(OutboxMessage).where(OutboxMessage.event_type == "evaluation.batch_completed")).scalar_one()
        assert announced.payload["data"] | {"sequence": 0} == {
            "batch_id": job_id, "item_count": 4, "verdicts": {"allow": 1, "block": 1, "review": 1}, "errors": 1, "sequence": 0}
        assert _count(api, Subject, Subject.external_id == "b3") == 0
    run_worker(api.db, settings, worker_id="w", once=True)  # nothing left to do: the batch is done once
    assert _count(api, OutboxMessage, OutboxMessage.event_type == "evaluation.batch_completed") == 1


def test_a_batch_whose_job_died_on_every_attempt_is_done_with_each_items_error(api: Api, settings: Settings) -> None:
    r = api.post("/api/v1/evaluate/batch", {"items": [{"external_id": f"b{n}", "kind": "message", "text": "hi"} for n in range(2)]})
    assert r.status_code == 202, r.text
    every_attempt_died(api.db, "evaluate_batch")
    run_worker(api.db, settings, worker_id="w", once=True)
    done = api.client.get(f"/api/v1/evaluate/batch/{r.json()['job_id']}", headers=api.auth).json()
    assert done["status"] == "done" and done["completed_at"] is not None
    assert [(x["external_id"], x["error"]["field"]) for x in done["results"]] == [("b0", "batch"), ("b1", "batch")]


def test_new_signals_on_content_without_a_case_open_one_when_a_live_rule_routes_it(api: Api) -> None:
    with api.db.session() as s:
        seed_queues(s, ADMIN)
        versions.save_rule(s, ADMIN, parse_rule({
            "name": "scam_signal", "mode": "live", "expression": "signals.exists(g, g.label == 'spam_scam' && g.score > 0.5)",
            "effects": [{"type": "route", "queue": "Marketplace"}]}), source="api")
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "m1", "kind": "message", "text": "send the fee in bitcoin to unlock your parcel, gift cards accepted"},
        {"external_id": "m2", "kind": "message", "text": "see you at six"},
    ]})
    assert r.status_code == 200, r.text
    ids = [x["id"] for x in r.json()["items"]]
    with api.db.session() as s:
        analyse(s, ADMIN, ids)
    with api.db.reader() as s:
        cases = s.execute(select(Case.subject_id, Queue.name).join(Queue, Queue.id == Case.queue_id)).all()
        report = s.execute(select(Report.reporter_type, Report.policy_code)).one()
    assert [tuple(c) for c in cases] == [(ids[0], "Marketplace")]
    assert tuple(report) == ("automated", "OTHER")
    assert _count(api, RuleEvaluation, RuleEvaluation.trigger == "report") == 0  # routed by the signals' evaluation
    with api.db.session() as s:  # analysed again: no new signals, nothing more
        analyse(s, ADMIN, ids)
    assert _count(api, Case) == 1
