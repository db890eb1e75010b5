"""Synchronous verdicts: check one subject before it is published, or a batch through the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import EvaluateBatch, EvaluateIn
from trustdesk.rules import verdicts
from trustdesk.store.database import Database
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, client_with, get_db, read_session

router = api_router("evaluate")


class Reason(BaseModel):
    rule: str
    version: int
    effects: list[dict[str, Any]]


class VerdictOut(BaseModel):
    verdict: str = Field(description="`allow`, `review` (a case is open for it) or `block` (decided automatically)")
    reasons: list[Reason] = Field(description="The live rules that matched, with their effects")
    signals: list[dict[str, Any]] = Field(description="The subject's latest signals, as the rules saw them")
    evaluation_id: int
    decision_id: int | None = Field(default=None, description="Only for `block`: the automated decision")
    case_id: int | None = Field(default=None, description="Only for `review`: the case opened or joined")


class BatchAccepted(BaseModel):
    job_id: int


class BatchOut(BaseModel):
    id: int
    status: str = Field(description="`queued` until the worker has checked every item, then `done`")
    item_count: int
    created_at: datetime
    completed_at: datetime | None
    results: list[dict[str, Any]] | None = Field(
        description="Once done, one per item in order: `external_id` with the verdict's fields, or `error` `{field, message}`"
    )


@router.post("/evaluate", response_model=VerdictOut, response_model_exclude_none=True)
def evaluate(
    body: EvaluateIn,
    who: intake.Submitter = Depends(client_with(Scope.EVALUATE_WRITE)), db: Database = Depends(get_db),
) -> Response:
    """Store the subject as `POST /subjects` does, run the analysers and rules on it now and
    answer the verdict. The same content again answers the same, with no second decision or case."""
    # The check is answered within milliseconds, so unlike other routes it opens and commits its
    # transaction in its own worker thread (each hop between the event loop and the thread pool
    # cost about 0.3 ms), and its answer, built from a fixed shape, is sent as it is rather than
    # validated against `VerdictOut` again (about 0.4 ms).
    with db.session() as session:
        answer = verdicts.check(session, who, body).as_json()
    return Response(orjson.dumps(answer), media_type="application/json")


@router.post("/evaluate/batch", status_code=202, response_model=BatchAccepted)
def evaluate_batch(
    body: EvaluateBatch,
    who: intake.Submitter = Depends(client_with(Scope.EVALUATE_WRITE)), session: Session = COMMITTED,
) -> BatchAccepted:
    """Check up to 1,000 subjects in the worker; read the results at `GET /evaluate/batch/{job_id}`
    (an `evaluation.batch_completed` webhook event says when)."""
    return BatchAccepted(job_id=verdicts.submit_batch(session, who, body.items).id)


@router.get("/evaluate/batch/{job_id}", response_model=BatchOut)
def read_batch(
    job_id: RowId,
    who: intake.Submitter = Depends(client_with(Scope.EVALUATE_WRITE)), session: Session = Depends(read_session),
) -> BatchOut:
    """A batch's status and, once done, its results."""
    batch = verdicts.batch_of(session, who.app_id, job_id)
    return BatchOut(id=batch.id, status=batch.status, item_count=batch.item_count, created_at=batch.created_at,
                    completed_at=batch.completed_at, results=batch.results)
