"""Submitting stored statements of reasons to the DSA Transparency Database, and exporting them.

Statements still `pending` go in id order, up to 100 a request, to `POST {base}/api/v1/statements`
with the Bearer token. A batch is accepted or refused whole: on 201 each statement is `accepted`
with the database's `uuid`. A 422 is one of two answers, as the database gives them: invalid
statements named by index with their errors by field (`{"errors": {"statement_3": {"field":
[...]}}}`), or platform ids the database holds already (`{"errors": {"puid": [...],
"existing_puids": [...]}}`). A statement whose puid is there already was stored before (a repeat
after an answer that never arrived, or another worker's submission): `already_there`. An
invalid one is `refused`, its errors kept per field (the store checks every statement against
the same rules when it is decided, so a refusal is a fault to look into, not resubmitted). The
rest of the batch is sent again without them. A 422 that names no statement is met by sending
the batch's statements one at a time, so that one fault never holds back those after it.

5xx answers and connection errors are retried with growing waits (1, 2, 4 s); when they go on,
the run stops and what is left stays pending for the next run (the recurring job, every five
minutes, or `trustdesk dsa submit`). A refused token stops the run too. Every recorded outcome
is audited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.client_input import whole_number
from trustdesk.dsa.period import Period
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.store.database import Database
from trustdesk.store.models import StatementOfReasons, utcnow

log = logging.getLogger(__name__)

PENDING, ACCEPTED, ALREADY_THERE, REFUSED = "pending", "accepted", "already_there", "refused"
BATCH = 100
ATTEMPTS = 4
FIRST_WAIT_SECONDS = 1.0
TIMEOUT_SECONDS = 30.0
SUBMITTER = Actor("system", "dsa-submission")


class SubmissionError(RuntimeError):
    """The database could not be reached, or answered in a way that stops the run."""


@dataclass
class Tally:
    accepted: int = 0
    already_there: int = 0
    refused: int = 0
    errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # puid → the refusal's errors

    def add(self, other: Tally) -> None:
        self.accepted += other.accepted
        self.already_there += other.already_there
        self.refused += other.refused
        self.errors |= other.errors


@dataclass(frozen=True)
class Target:
    """The database's API: base URL (…/api/v1 is added) and Bearer token."""

    base_url: str
    token: str


def submit_pending(
    db: Database, target: Target, *, actor: Actor = SUBMITTER, client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Tally:
    """Submit every pending statement, a batch at a time; raises `SubmissionError` (after
    recording the batches done) when the database stops answering or refuses the token."""
    total = Tally()
    after = 0
    with nullcontext(client) if client else httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        while True:
            with db.reader() as session:
                batch = [(row.id, row.body) for row in session.execute(
                    select(StatementOfReasons).where(StatementOfReasons.submission == PENDING, StatementOfReasons.id > after)
                    .order_by(StatementOfReasons.id).limit(BATCH)
                ).scalars()]
            if not batch:
                return total
            after = batch[-1][0]
            outcomes = _send(http, target, [body for _id, body in batch], sleep)
            with db.session() as session:
                total.add(_record(session, actor, [row_id for row_id, _body in batch], outcomes))


@dataclass(frozen=True)
class Outcome:
    state: str
    dsa_uuid: str | None = None
    errors: dict[str, list[str]] | None = None


def _send(http: httpx.Client, target: Target, bodies: list[dict[str, Any]], sleep: Callable[[float], None]) -> list[Outcome]:
    """Each statement's outcome, in order; the refused ones are left out of the retried batch."""
    outcomes: dict[int, Outcome] = {}
    waiting = list(range(len(bodies)))
    while waiting:
        answer = _post(http, target, {"statements": [bodies[i] for i in waiting]}, sleep)
        if answer.status_code in (200, 201):
            stored = {s.get("puid"): s.get("uuid") for s in answer.json().get("statements", []) if isinstance(s, dict)}
            for i in waiting:
                outcomes[i] = Outcome(ACCEPTED, _text(stored.get(bodies[i]["puid"])))
            break
        if answer.status_code != 422:
            raise SubmissionError(f"the database answered {answer.status_code}: {answer.text[:300]}")
        errors = _json(answer).get("errors")
        named = {**{p: Outcome(REFUSED, errors=e) for p, e in _invalid(errors, len(waiting)).items()},
                 **{p: Outcome(ALREADY_THERE) for p in _stored_already(errors, [bodies[i]["puid"] for i in waiting])}}
        if not named and len(waiting) > 1:
            for i in waiting:
                [outcomes[i]] = _send(http, target, [bodies[i]], sleep)
            break
        if not named:
            outcomes[waiting[0]] = Outcome(REFUSED, errors={"statement": [answer.text[:500]]})
            break
        for position, outcome in named.items():
            outcomes[waiting[position]] = outcome
        waiting = [i for position, i in enumerate(waiting) if position not in named]
    return [outcomes[i] for i in range(len(bodies))]


def _post(http: httpx.Client, target: Target, body: dict[str, Any], sleep: Callable[[float], None]) -> httpx.Response:
    """POST, retrying 5xx answers and connection errors with growing waits."""
    url = f"{target.base_url.rstrip('/')}/api/v1/statements"
    headers = {"Authorization": f"Bearer {target.token}", "Accept": "application/json"}
    problem = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(FIRST_WAIT_SECONDS * 2 ** (attempt - 1))
        try:
            answer = http.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            problem = f"{exc.__class__.__name__}: {exc}"
            continue
        if answer.status_code < 500:
            if answer.status_code in (401, 403):
                raise SubmissionError(f"the database refused the token ({answer.status_code})")
            return answer
        problem = f"status {answer.status_code}"
    raise SubmissionError(f"the database did not answer after {ATTEMPTS} attempts ({problem}); statements stay pending")


def _invalid(errors: object, size: int) -> dict[int, dict[str, list[str]]]:
    """`{"statement_3": {"puid": [...]}}` → {3: {"puid": [...]}}; keys of no statement are left out."""
    found: dict[int, dict[str, list[str]]] = {}
    for key, fields in errors.items() if isinstance(errors, dict) else ():
        number = whole_number(str(key).removeprefix("statement_")) if str(key).startswith("statement_") else None
        if number is not None and 0 <= number < size and isinstance(fields, dict):
            found[number] = {str(name): [str(m)[:500] for m in (listed if isinstance(listed, list) else [listed])]
                             for name, listed in fields.items()}
    return found


def _stored_already(errors: object, puids: list[str]) -> list[int]:
    """The positions of the statements whose puid the database lists in `existing_puids`."""
    existing = errors.get("existing_puids") if isinstance(errors, dict) else None
    listed = {str(p) for p in existing} if isinstance(existing, list) else set()
    return [position for position, puid in enumerate(puids) if puid in listed]


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    return str(value)[:64] if value else None


def _record(session: Session, actor: Actor, ids: list[int], outcomes: list[Outcome]) -> Tally:
    """Write each outcome onto its statement, unless another run already did."""
    tally = Tally()
    now = utcnow()
    for row_id, outcome in zip(ids, outcomes, strict=True):
        row = session.get_one(StatementOfReasons, row_id, with_for_update=True)
        if row.submission != PENDING:
            continue
        row.submission, row.submitted_at, row.dsa_uuid, row.submission_errors = outcome.state, now, outcome.dsa_uuid, outcome.errors
        record(
            session, actor=actor, verb="statement.submitted", object_type="statement_of_reasons", object_id=row.id,
            before={"submission": PENDING},
            after={"submission": outcome.state, "dsa_uuid": outcome.dsa_uuid, "errors": outcome.errors},
        )
        if outcome.state == ACCEPTED:
            tally.accepted += 1
        elif outcome.state == ALREADY_THERE:
            tally.already_there += 1
        else:
            tally.refused += 1
            tally.errors[row.puid] = outcome.errors or {}
    return tally


def exported(session: Session, period: Period) -> Iterator[dict[str, Any]]:
    """The statements stored in the period, oldest first, each the database's object verbatim."""
    query = (
        select(StatementOfReasons.body)
        .where(StatementOfReasons.created_at >= period.start, StatementOfReasons.created_at < period.end)
        .order_by(StatementOfReasons.id)
    )
    for body in session.execute(query.execution_options(yield_per=1000)).scalars():
        yield body


@dataclass(frozen=True)
class SubmitStatements:
    """The recurring submission run (no fields)."""


@job_kind("dsa_submit_statements", SubmitStatements, every=timedelta(minutes=5))
def submit_statements(ctx: WorkerContext, job: SubmitStatements) -> None:
    configured = ctx.settings.dsa_target
    if configured is None:
        log.debug("no DSA Transparency Database configured (TRUSTDESK_DSA_URL, TRUSTDESK_DSA_TOKEN): nothing submitted")
        return
    tally = submit_pending(ctx.db, Target(*configured))
    if tally.accepted or tally.already_there or tally.refused:
        log.info("statements of reasons: %d accepted, %d already there, %d refused", tally.accepted, tally.already_there, tally.refused)
