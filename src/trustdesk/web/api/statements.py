"""Statements of reasons, read by the host platform (the webhook events give their ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.vocabulary import Scope
from trustdesk.enforcement import statements
from trustdesk.ingest import intake
from trustdesk.store.models import StatementOfReasons, Subject
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import client_with, read_session

router = api_router("statements of reasons")


class StatementSubject(BaseModel):
    kind: str
    external_id: str


class StatementOut(BaseModel):
    id: int
    puid: str = Field(description="The statement's unique id for the platform in the DSA Transparency Database.")
    decision_id: int
    action_id: int
    subject: StatementSubject
    created_at: datetime
    statement: dict[str, Any] = Field(
        description="The DSA Transparency Database's statement object, its field names and enum values verbatim; "
                    "it passed every rule of the database's validation when it was stored."
    )

    @classmethod
    def of(cls, row: StatementOfReasons, subject: Subject) -> "StatementOut":
        return cls(
            id=row.id, puid=row.puid, decision_id=row.decision_id, action_id=row.action_id,
            subject=StatementSubject(kind=subject.kind, external_id=subject.external_id), created_at=row.created_at,
            statement=row.body,
        )


@router.get("/statements/{statement_id}", response_model=StatementOut)
def read_statement(
    statement_id: RowId,
    who: intake.Submitter = Depends(client_with(Scope.SUBJECTS_READ)), session: Session = Depends(read_session),
) -> StatementOut:
    """The statement of reasons (DSA Art. 17) stored when a restriction was decided: the
    `statement_of_reasons_id` of an `action.applied`, `.reversed` or `.expired` event. Needs the
    `subjects:read` scope; another app's statement is not found."""
    row = statements.of_app(session, who.app_id, statement_id)
    return StatementOut.of(row, session.get_one(Subject, row.subject_id))
