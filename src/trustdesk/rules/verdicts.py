"""Synchronous verdicts: one subject checked inside the request, for pre-publication checks.

`check` stores the subject as intake does (idempotent by external id; changed content is
applied as an update), runs the analysers on it at once, evaluates the rules on an event of
type `evaluate` and keeps the evaluation. The live hits make the verdict: `block` when one
acts (an automated decision with its statement of reasons and webhook, as at intake),
`review` when one routes, labels or raises priority (the subject's case is opened or joined
with an automated report, as when new signals route a subject), else `allow`. The content of a
person who restricted processing or objected to it is stored, but no analyser looks at it and
no rule runs on it (`trustdesk.privacy.processing`): it is allowed, as if no automation were
there, and reports about it still reach people.

The answer is kept per subject content (`verdicts`, unique by subject and body hash), so the
same content checked again gets the same answer and no second decision or case.

A batch of up to 1,000 checks is stored and done by the worker (`evaluate_batch`); each item's
answer, or the error that refused it, is kept in order with the batch, and the app's webhook
endpoints get `evaluation.batch_completed`.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from trustdesk.analysis.runs import find_signals
from trustdesk.analysis.signals import latest_signals
from trustdesk.audit.log import Actor, record
from trustdesk.cases.routing import review_text
from trustdesk.delivery import outbox
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.rules import effect_json
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import EvaluateIn, SubjectIn, SubjectUpdate
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.privacy.processing import withheld_from_automation
from trustdesk.rules import evaluations
from trustdesk.rules.engine import Verdict, evaluate, verdict_of
from trustdesk.rules.evaluations import Evaluated
from trustdesk.rules.inputs import Event, build_inputs
from trustdesk.rules.versions import active_rules
from trustdesk.store.dialects import conflict_insert, dialect_name
from trustdesk.store.models import ApiClient, EvaluationBatch, Policy, Subject, utcnow
from trustdesk.store.models import Verdict as VerdictRow

QUEUED, DONE = "queued", "done"
_UPDATABLE = set(SubjectUpdate.model_fields)


@dataclass(frozen=True)
class Answer:
    verdict: str
    reasons: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    evaluation_id: int
    decision_id: int | None = None
    case_id: int | None = None

    @classmethod
    def of(cls, row: Row[Any]) -> Answer:
        return cls(row.verdict, row.reasons, row.signals, row.evaluation_id, row.decision_id, row.case_id)

    def as_json(self) -> dict[str, Any]:
        """The API's answer: `decision_id` only for a block, `case_id` only for a review."""
        return {name: value for name, value in asdict(self).items() if value is not None or name not in ("decision_id", "case_id")}


def check(session: Session, who: intake.Submitter, item: EvaluateIn) -> Answer:
    """The verdict on `item`, given now; the same content again gets the kept answer."""
    policy = _policy(session, item.context.policy_code)
    subject_id, body_hash, created = _stored_subject(session, who, item.subject())
    if not created:  # checks of a stored subject take turns on its row: the second gets the first's answer
        session.connection().execute(_LOCK_SUBJECT, {"subject_id": subject_id})
        kept = _kept(session, subject_id, body_hash)
        if kept is not None:
            return Answer.of(kept)
    withheld = bool(withheld_from_automation(session, [subject_id]))
    if not withheld:
        find_signals(session, [subject_id])
    found = {} if withheld else latest_signals(session, [subject_id])
    now = utcnow()
    event = Event(subject_id, "evaluate", item.context.source, "", False, policy)
    inputs = build_inputs(session, [event], now, signals=found)[0]
    evaluated = Evaluated(who.app_id, subject_id, "evaluate", inputs, evaluate(() if withheld else active_rules(session), inputs),
                          withheld=withheld)
    evaluations.store(session, [evaluated], now)
    assert evaluated.id is not None
    verdict = verdict_of(evaluated.outcome.effects)
    decision_id = evaluations.act(session, evaluated) if verdict is Verdict.BLOCK else None
    case_id = None
    if verdict is Verdict.REVIEW:
        wanted = intake.AutomatedReport(subject_id, evaluated, policy.code if policy else None, review_text(evaluated))
        case_id = intake.file_automated_reports(session, evaluations.RULES, who.app_id, [wanted]).get(subject_id)
    row = {
        "app_id": who.app_id, "subject_id": subject_id, "body_hash": body_hash, "evaluation_id": evaluated.id,
        "verdict": verdict.value, "signals": inputs["signals"], "decision_id": decision_id, "case_id": case_id,
        "reasons": [{"rule": rule.name, "version": rule.version, "effects": [effect_json(e) for e in rule.effects]}
                    for rule in evaluated.outcome.live],
        "created_at": now,
    }
    if session.connection().execute(_keep_answer(dialect_name(session)), [row]).first() is None:  # a concurrent identical check answered first
        kept = _kept(session, subject_id, body_hash)
        assert kept is not None
        return Answer.of(kept)
    return Answer(verdict.value, row["reasons"], row["signals"], evaluated.id, decision_id, case_id)


def _policy(session: Session, code: str | None) -> Policy | None:
    if code is None:
        return None
    policy = session.execute(select(Policy).where(Policy.code == code, Policy.is_current.is_(True))).scalar_one_or_none()
    if policy is None:
        raise FieldError("context.policy_code", f"unknown policy {code!r}")
    return policy


def _stored_subject(session: Session, who: intake.Submitter, item: SubjectIn) -> tuple[int, str, bool]:
    """The subject's id and body hash once stored as intake stores it, and whether it is new:
    created, found as an identical retry, or updated where its content changed (its kind and
    place cannot)."""
    try:
        receipt = intake.create_subjects(session, who, [item], single=True, analyse_later=False)[0]
        return receipt.id, item.body_hash(), receipt.status == "created"
    except Conflict as exc:  # stored before with other content: refused before anything was written
        if exc.field != "external_id":
            raise
    existing = session.connection().execute(_STORED, {"app_id": who.app_id, "external_id": item.external_id}).one()
    if existing.kind != item.kind.value:
        raise Conflict("kind", f"{item.external_id!r} is a {existing.kind}; a subject's kind cannot change")
    change = SubjectUpdate.model_validate(item.model_dump(include=_UPDATABLE))
    updated = intake.update_subject(session, who, item.external_id, change)
    return updated.id, updated.body_hash, False


def _kept(session: Session, subject_id: int, body_hash: str) -> Row[Any] | None:
    return session.connection().execute(_KEPT, {"subject_id": subject_id, "body_hash": body_hash}).first()


# Built once and run past the ORM step (no autoflush): retries and updates run them. A check starts with
# nothing unflushed (a new request, or a batch item's new savepoint), and verdicts are written
# by Core statements only.
_STORED = select(Subject.kind).where(
    Subject.app_id == bindparam("app_id"), Subject.external_id == bindparam("external_id")
)
_LOCK_SUBJECT = select(Subject.id).where(Subject.id == bindparam("subject_id")).with_for_update()
_KEPT = select(VerdictRow.verdict, VerdictRow.reasons, VerdictRow.signals, VerdictRow.evaluation_id, VerdictRow.decision_id,
               VerdictRow.case_id).where(VerdictRow.subject_id == bindparam("subject_id"), VerdictRow.body_hash == bindparam("body_hash"))


@functools.cache
def _keep_answer(dialect: str) -> Any:
    """Keep an answer unless one for the same content is kept already; returns the new row's id."""
    statement = conflict_insert(dialect, VerdictRow).on_conflict_do_nothing(index_elements=["subject_id", "body_hash"])
    return statement.returning(VerdictRow.id)


# --- batches ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluateBatchJob:
    batch_id: int


def submit_batch(session: Session, who: intake.Submitter, items: list[EvaluateIn]) -> EvaluationBatch:
    """Keep the items and have the worker check them; the batch, whose id the client knows as the job id."""
    batch = EvaluationBatch(
        app_id=who.app_id, api_client_id=who.client_id, status=QUEUED, item_count=len(items),
        items=[item.model_dump(mode="json", exclude_unset=True) for item in items], created_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    enqueue(session, EvaluateBatchJob(batch_id=batch.id))
    record(session, actor=who.actor, verb="evaluation_batch.submitted", object_type="evaluation_batch", object_id=batch.id,
           after={"item_count": batch.item_count})
    return batch


def batch_of(session: Session, app_id: int, batch_id: int) -> EvaluationBatch:
    batch = session.get(EvaluationBatch, batch_id)
    if batch is None or batch.app_id != app_id:
        raise NotFound("job_id", f"no batch {batch_id} of this app")
    return batch


def run_batch(session: Session, batch_id: int, media_allow_list: tuple[str, ...] = ()) -> None:
    """Check each item of the batch (one refused item does not stop the others), keep the
    results and announce them; a batch already done is left as it is."""
    batch = session.get(EvaluationBatch, batch_id, with_for_update=True)
    if batch is None or batch.status == DONE:
        return
    client = session.get(ApiClient, batch.api_client_id) if batch.api_client_id else None
    who = intake.Submitter(batch.app_id, Actor("client", client.name if client else "batch"), batch.api_client_id, media_allow_list)
    results: list[dict[str, Any]] = []
    for raw in batch.items:
        item = EvaluateIn.model_validate(raw)
        try:
            with session.begin_nested():
                results.append({"external_id": item.external_id, **check(session, who, item).as_json()})
        except FieldError as exc:
            results.append({"external_id": item.external_id, "error": {"field": exc.field, "message": exc.message}})
    _complete(session, batch, who.actor, results)


def gave_up_batch(ctx: WorkerContext, job: EvaluateBatchJob) -> None:
    """The batch's job failed on every attempt: it is done with each item's error, rather than
    `queued` for ever for the client polling it."""
    with ctx.db.session() as session:
        batch = session.get(EvaluationBatch, job.batch_id, with_for_update=True)
        if batch is None or batch.status == DONE:
            return
        error = {"field": "batch", "message": "not checked: the batch failed on every attempt; send it again"}
        _complete(session, batch, Actor("system", "worker"), [{"external_id": raw.get("external_id"), "error": error} for raw in batch.items])


def _complete(session: Session, batch: EvaluationBatch, actor: Actor, results: list[dict[str, Any]]) -> None:
    """Keep the results, audited, and announce them to the app's endpoints."""
    batch.results, batch.status, batch.completed_at = results, DONE, utcnow()
    summary = {"item_count": batch.item_count, "verdicts": dict(Counter(r["verdict"] for r in results if "verdict" in r)),
               "errors": sum(1 for r in results if "error" in r)}
    record(session, actor=actor, verb="evaluation_batch.completed", object_type="evaluation_batch", object_id=batch.id,
           after=summary)
    checked = [r["external_id"] for r in results if "verdict" in r]
    if checked:  # the event is numbered in the sequence of the batch's first subject checked
        subject = session.execute(
            select(Subject).where(Subject.app_id == batch.app_id, Subject.external_id == checked[0])
        ).scalar_one()
        outbox.announce_batch(session, batch.id, subject, summary, now=batch.completed_at)


@job_kind("evaluate_batch", EvaluateBatchJob, given_up=gave_up_batch)
def handle_evaluate_batch(ctx: WorkerContext, job: EvaluateBatchJob) -> None:
    with ctx.db.session() as session:
        run_batch(session, job.batch_id, ctx.settings.media_url_allow_list)
