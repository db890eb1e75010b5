"""Writing a notice and sending it on its way: `queue_notice` is the one way in.

The caller renders the text (`templates.render`, or a staff reply's own template) and says who
the notice is for; `queue_notice` stores it, picks the channel (the app's, unless the caller
names one) and, in the same transaction, queues the outbox event or the mail job. A notice
that cannot go anywhere (no endpoint, no address) is written all the same, `failed` with the
reason, so the console shows it; one the caller withholds is `withheld` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, visible_case, visible_subject
from trustdesk.delivery.outbox import announce_notice
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.vocabulary import (
    NoticeChannel,
    NoticeKind,
    NoticeRecipient,
    NoticeState,
)
from trustdesk.jobs.queue import enqueue
from trustdesk.law_enforcement.non_disclosure import case_under_non_disclosure
from trustdesk.notices.mail import NO_ADDRESS, SendNotice, address_of
from trustdesk.notices.templates import Rendered
from trustdesk.store.inserted_now import insert_now
from trustdesk.store.models import App, Escalation, Notice, Report, Subject, utcnow


@dataclass(frozen=True)
class Recipient:
    """Who a notice is for: a role and one reference to reach them by."""

    role: NoticeRecipient
    subject_id: int | None = None  # the user's account
    report_id: int | None = None  # a notifier, through their report
    escalation_id: int | None = None  # a requester, through their escalation
    address: str | None = None  # an email address given as it is (a staff reply)


@dataclass(frozen=True)
class Draft:
    """A rendered notice to write; `subject_id` is the subject it is about (its events take
    that subject's sequence)."""

    app_id: int
    kind: NoticeKind
    recipient: Recipient
    subject_id: int
    locale: str
    text: Rendered
    decision_id: int | None = None
    case_id: int | None = None
    statement_of_reasons_id: int | None = None
    channel: NoticeChannel | None = None  # None: the app's notice channel
    withheld: str | None = None  # why it is written but not sent


def queue_notice(session: Session, actor: Actor, draft: Draft) -> Notice:
    """Write the notice and queue its delivery, in the caller's transaction; refused on the
    case of a law-enforcement request under a standing non-disclosure order."""
    if draft.case_id is not None and case_under_non_disclosure(session, draft.case_id):
        raise Conflict("case_id", "a non-disclosure order stands: nothing about this request may reach the people it names")
    channel = draft.channel or app_channel(session, draft.app_id)
    notice = insert_now(session, Notice(
        app_id=draft.app_id, kind=draft.kind.value, recipient_role=draft.recipient.role.value,
        recipient_subject_id=draft.recipient.subject_id, recipient_report_id=draft.recipient.report_id,
        recipient_escalation_id=draft.recipient.escalation_id, recipient_address=draft.recipient.address,
        subject_id=draft.subject_id, locale=draft.locale, channel=channel.value, subject_line=draft.text.subject_line,
        body=draft.text.body, decision_id=draft.decision_id, case_id=draft.case_id,
        statement_of_reasons_id=draft.statement_of_reasons_id, state=NoticeState.PENDING.value, attempts=0,
        created_by=actor.label, created_at=utcnow(),
    ))
    if draft.withheld:
        notice.state, notice.error = NoticeState.WITHHELD.value, draft.withheld
    elif channel is NoticeChannel.WEBHOOK:
        if not announce_notice(session, notice, recipient_reference(session, notice)):
            notice.state, notice.error = NoticeState.FAILED.value, "the app has no webhook endpoint to hand the notice to"
    elif address_of(session, notice) is None:
        notice.state, notice.error = NoticeState.FAILED.value, NO_ADDRESS.format(role=notice.recipient_role)
    else:
        enqueue(session, SendNotice(notice.id))
    record(session, actor=actor, verb="notice.queued", object_type="notice", object_id=notice.id, after={
        "kind": notice.kind, "recipient_role": notice.recipient_role, "channel": notice.channel, "locale": notice.locale,
        "state": notice.state, "error": notice.error, "decision_id": notice.decision_id, "case_id": notice.case_id,
    })
    return notice


_CHANNEL = select(App.notice_channel).where(App.id == bindparam("app_id"))  # built once: every decision's notices ask


def app_channel(session: Session, app_id: int) -> NoticeChannel:
    """How the app's notices leave: the one column, not the app (a loaded App is not kept)."""
    return NoticeChannel(session.execute(_CHANNEL, {"app_id": app_id}).scalar_one())


def recipient_reference(session: Session, notice: Notice) -> dict[str, Any]:
    """How the host platform knows the recipient: the account's, the report's or the requester's reference."""
    reference: dict[str, Any] = {"role": notice.recipient_role}
    if notice.recipient_subject_id is not None:
        reference["subject_external_id"] = session.get_one(Subject, notice.recipient_subject_id).external_id
    if notice.recipient_report_id is not None:
        reference["report_external_id"] = session.get_one(Report, notice.recipient_report_id).external_id
    if notice.recipient_escalation_id is not None:
        reference["requester_ref"] = session.get_one(Escalation, notice.recipient_escalation_id).requester_ref
    if notice.recipient_address is not None:
        reference["address"] = notice.recipient_address
    return reference


def notices_of_case(session: Session, case_id: int) -> list[Notice]:
    """A case's notices, oldest first (the caller checked access to the case)."""
    return list(session.execute(select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)).scalars())


def visible_notice(session: Session, reviewer: Reviewer, notice_id: int) -> Notice:
    """A notice whose case and subject the staff member may see (need-to-know); NotFound otherwise."""
    notice = session.get(Notice, notice_id)
    try:
        if notice is None:
            raise NotFound("notice_id", "")
        if notice.case_id is not None:
            visible_case(session, reviewer, notice.case_id)
        visible_subject(session, reviewer, notice.subject_id)
    except NotFound:
        raise NotFound("notice_id", f"no notice {notice_id}") from None
    return notice


def client_notice(session: Session, app_id: int, notice_id: int) -> Notice:
    """A notice of the client's app; another app's is not found."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.app_id != app_id:
        raise NotFound("notice_id", f"no notice {notice_id}")
    return notice


def set_channel(session: Session, actor: Actor, app: App, channel: str) -> App:
    """Choose how an app's notices leave from now on (notices already written keep theirs)."""
    try:
        chosen = NoticeChannel(channel)
    except ValueError:
        raise FieldError("channel", f"one of {', '.join(c.value for c in NoticeChannel)}") from None
    before = app.notice_channel
    app.notice_channel = chosen.value
    record(session, actor=actor, verb="app.notice_channel_set", object_type="app", object_id=app.id,
           before={"notice_channel": before}, after={"notice_channel": chosen.value})
    return app
