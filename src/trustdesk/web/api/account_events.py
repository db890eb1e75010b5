"""Account events (logins, registrations, purchases) that investigations link accounts by."""

from __future__ import annotations

from fastapi import Depends, Response
from sqlalchemy.orm import Session

from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import (
    AccountEventBatch,
    AccountEventIn,
    Receipt,
    Receipts,
)
from trustdesk.web.api import receipts
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, client_with

router = api_router("account events")


@router.post("/account-events", status_code=201, response_model=Receipt, responses=receipts.RETRY)
def record_event(
    body: AccountEventIn, response: Response,
    who: intake.Submitter = Depends(client_with(Scope.EVENTS_WRITE)), session: Session = COMMITTED,
) -> Receipt:
    return receipts.single("account_event", intake.record_account_events(session, who, [body], single=True)[0], response)


@router.post("/account-events/batch", response_model=Receipts)
def record_events(
    body: AccountEventBatch,
    who: intake.Submitter = Depends(client_with(Scope.EVENTS_WRITE)), session: Session = COMMITTED,
) -> Receipts:
    return receipts.batch("account_event", intake.record_account_events(session, who, body.items))
