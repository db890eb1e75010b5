"""Notices your app's users, notifiers and requesters were sent (or were to be sent): the
host platform reads one by the `notice_id` of its `notice.requested` event, or to check what
became of a notice mailed by TrustDesk."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.vocabulary import NoticeChannel, NoticeKind, NoticeRecipient, NoticeState, Scope
from trustdesk.ingest.intake import Submitter
from trustdesk.notices.notice import client_notice, recipient_reference
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import client_with, read_session

router = api_router("notices")


class RecipientOut(BaseModel):
    role: NoticeRecipient
    subject_external_id: str | None = Field(default=None, description="A user: the account.")
    report_external_id: str | None = Field(default=None, description="A notifier: the report they filed.")
    requester_ref: str | None = Field(default=None, description="A requester: the reference given when filing the escalation.")
    address: str | None = Field(default=None, description="An address the notice was written to directly.")


class NoticeOut(BaseModel):
    id: int
    kind: NoticeKind
    recipient: RecipientOut
    locale: str = Field(description="The locale it was written in (`en`, `es`, `pt`, …).")
    channel: NoticeChannel = Field(description="webhook: handed to you as `notice.requested`; smtp: mailed by TrustDesk.")
    state: NoticeState = Field(description="pending, sent, failed (see `error`) or withheld (see `error`: deliberately not sent).")
    error: str | None
    attempts: int
    subject_line: str
    body: str = Field(description="The text as it was written: send it as it is.")
    decision_id: int | None
    statement_of_reasons_id: int | None
    sent_at: datetime | None
    created_at: datetime


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def read_notice(
    notice_id: RowId, who: Submitter = Depends(client_with(Scope.SUBJECTS_READ)), session: Session = Depends(read_session),
) -> NoticeOut:
    """A notice about one of your app's subjects: to whom, in which locale, its text and what became of it."""
    notice = client_notice(session, who.app_id, notice_id)
    fields = {name: getattr(notice, name) for name in NoticeOut.model_fields if name != "recipient"}
    return NoticeOut(**fields, recipient=RecipientOut(**recipient_reference(session, notice)))
