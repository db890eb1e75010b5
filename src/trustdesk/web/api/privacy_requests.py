"""Privacy requests the host platform received from its users: filed, then followed to the answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import NotFound
from trustdesk.domain.legal_deadlines import Regime
from trustdesk.domain.privacy_requests import MAX_CONTACT, MAX_NAME, MAX_TEXT, RequestSpec, RequestType
from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest.intake import Submitter
from trustdesk.ingest.schemas import ExternalId
from trustdesk.privacy import requests
from trustdesk.store.database import Database
from trustdesk.store.models import PrivacyRequest
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, client_with, get_db, read_session

router = api_router("privacy requests")


class PrivacyRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    external_id: ExternalId = Field(description="Your id for the request: a retry with the same body answers 200 with the original.")
    subject_external_id: ExternalId = Field(description="The data subject's account.")
    regime: Regime = Field(description="The law the request is made under; it sets the deadline.")
    request_type: RequestType
    requester_name: str = Field(min_length=1, max_length=MAX_NAME)
    requester_contact: str = Field(min_length=1, max_length=MAX_CONTACT, description="How to reach the requester (email, address).")
    received_on: date = Field(description="The day the request reached you: the legal clock runs from it.")
    details: str = Field(default="", max_length=MAX_TEXT)

    def spec(self) -> RequestSpec:
        return RequestSpec(self.subject_external_id, self.regime.value, self.request_type.value, self.requester_name,
                           self.requester_contact, self.received_on, self.details)


class PrivacyRequestOut(BaseModel):
    id: int
    external_id: str | None
    regime: str
    request_type: str
    status: str = Field(description="open, answered or refused")
    verification: str = Field(description="unverified, verified or failed")
    received_on: date
    due_on: date = Field(description="When the answer is due under the regime (with any extension: `extended_to`).")
    extended_to: date | None
    confirm_by: date | None = Field(description="CCPA know/delete/correct: receipt must be confirmed by this day (else null).")
    receipt_confirmed_at: datetime | None
    answer: str | None
    outcome: dict[str, Any] = Field(description="An erasure's `erased` and `retained` (with each `hold_id` and `basis`).")
    answered_at: datetime | None
    lifted_at: datetime | None = Field(description="An answered restriction: when it was lifted (null while it stands).")

    @classmethod
    def of(cls, request: PrivacyRequest) -> "PrivacyRequestOut":
        return cls(**{name: getattr(request, name) for name in cls.model_fields})


class ReceiptConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    how: str = Field(min_length=1, max_length=2000, description="How the requester was told, e.g. 'email to the address given, 2027-01-06'.")


@router.post("/privacy-requests", response_model=PrivacyRequestOut, status_code=201,
             responses={200: {"model": PrivacyRequestOut, "description": "An identical retry: the request as filed"}})
def file_request(body: PrivacyRequestIn, response: Response, who: Submitter = Depends(client_with(Scope.PRIVACY_WRITE)),
                 db: Database = Depends(get_db)) -> PrivacyRequestOut:
    """File a privacy request a user made to you: it opens a case in the privacy queue, due on the
    regime's date. Needs the `privacy:write` scope, which older tokens lack: issue a new one."""
    request_id, created = requests.file_for_client(db, who, body.external_id, body.spec())
    if not created:
        response.status_code = 200
    with db.reader() as session:
        return PrivacyRequestOut.of(requests.request_of(session, request_id))


@router.get("/privacy-requests/{request_id}", response_model=PrivacyRequestOut)
def read_request(request_id: RowId, who: Submitter = Depends(client_with(Scope.PRIVACY_WRITE)),
                 session: Session = Depends(read_session)) -> PrivacyRequestOut:
    """A request of your app: its clock, its status and, once answered, the answer."""
    return PrivacyRequestOut.of(_of_app(session, who, request_id))


def _of_app(session: Session, who: Submitter, request_id: int) -> PrivacyRequest:
    request = requests.request_of(session, request_id)
    if request.app_id != who.app_id:
        raise NotFound("request_id", f"no privacy request {request_id}")
    return request


@router.post("/privacy-requests/{request_id}/receipt-confirmation", response_model=PrivacyRequestOut)
def confirm_receipt(request_id: RowId, body: ReceiptConfirmationIn, who: Submitter = Depends(client_with(Scope.PRIVACY_WRITE)),
                    session: Session = COMMITTED) -> PrivacyRequestOut:
    """Record that you told the requester their request arrived (CCPA: within 10 business days
    of receipt for a request to know, delete or correct; `confirm_by` says by when). 409 where
    no confirmation is asked, once it is recorded, and on a closed request."""
    _of_app(session, who, request_id)
    return PrivacyRequestOut.of(requests.confirm_receipt(session, who.actor, request_id, body.how))
