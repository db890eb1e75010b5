"""How a notice's delivery ends, whichever channel carried it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.vocabulary import NoticeState
from trustdesk.store.models import Notice, utcnow

SENDER = Actor("system", "notice-sender")


def settle(session: Session, notice_id: int, *, sent: bool, error: str | None = None) -> None:
    """Record that a notice was sent, or failed for good with the error. A notice handed to
    several webhook endpoints is sent once any of them took it; a failure after that, or
    after it was withheld, changes nothing."""
    notice = session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.state == NoticeState.SENT.value or (not sent and notice.state != NoticeState.PENDING.value):
        return
    before = {"state": notice.state}
    if sent:
        notice.state, notice.sent_at, notice.error = NoticeState.SENT.value, utcnow(), None
    else:
        notice.state, notice.error = NoticeState.FAILED.value, error
    record(session, actor=SENDER, verb=f"notice.{notice.state}", object_type="notice", object_id=notice.id,
           before=before, after={"state": notice.state, "error": notice.error, "attempts": notice.attempts})
