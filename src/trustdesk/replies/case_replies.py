"""Replies on a case: a template filled from the case, edited by staff, then copied or sent.

Need-to-know holds: only staff who may see the case (`access.visible_case`) draft, use or read
its replies; a case they may not see is a 404, as if it did not exist. The placeholders come
from `reply_context`, which reads the case, its subject and app and its latest decision, and
nothing about staff or reporters. Each use is recorded with the final text as it left, and
audited. "Sent" hands the text to the notices (`queue_notice`, kind `reply`) in the same
transaction: to the user whose account the case concerns, or to the notifier of one of its
reports, through the app's notice channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, visible_case
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.legal_deadlines import appeal_closes
from trustdesk.domain.replies import MAX_BODY, MAX_SUBJECT, ReplyChannel, ReplyDelivery, locale_for, render
from trustdesk.domain.vocabulary import NoticeKind, NoticeRecipient
from trustdesk.notices.notice import Draft, Recipient, queue_notice
from trustdesk.notices.templates import Rendered
from trustdesk.replies.templates import get_template, texts_of
from trustdesk.domain.client_input import whole_number
from trustdesk.store.models import App, Case, CaseReply, Decision, Policy, ReplyTemplate, Report, Subject

USER = "user"  # the recipient value for the account the case concerns; a notifier is `report:<id>`


def _latest_decision(session: Session, case_id: int) -> Decision | None:
    return session.execute(select(Decision).where(Decision.case_id == case_id).order_by(Decision.id.desc()).limit(1)).scalar()


def reply_context(session: Session, case: Case, locale: str, appeal_window: timedelta) -> dict[str, Any]:
    """The placeholders of `PLACEHOLDERS`, filled from the case (never staff or reporter names)."""
    subject = session.get_one(Subject, case.subject_id)
    decision = _latest_decision(session, case.id)
    code, version = (decision.policy_code, decision.policy_version) if decision else (case.policy_code, None)
    policy_query = select(Policy.title).where(Policy.code == code)
    policy_query = policy_query.where(Policy.version == version) if version else policy_query.where(Policy.is_current.is_(True))
    return {
        "case_id": case.id, "app_name": session.get_one(App, case.app_id).name,
        "subject_kind": subject.kind, "subject_external_id": subject.external_id,
        "policy_title": session.execute(policy_query).scalar() or code,
        "decision_verdict": decision.verdict.replace("_", " ") if decision else "pending",
        "decision_date": decision.created_at.date().isoformat() if decision else "",
        "actions": ", ".join(str(a).replace("_", " ") for a in decision.actions) if decision else "",
        "appeal_window_end": appeal_closes(decision.created_at, appeal_window).date().isoformat() if decision else "",
        "locale": locale,
    }


@dataclass(frozen=True)
class ReplyDraft:
    """A template filled for a case, in the locale chosen (or the one closest to the subject's)."""

    template: ReplyTemplate
    locale: str
    locales: list[str]  # those the template is written in
    subject: str
    body: str


def draft_reply(
    session: Session, reader: Reviewer, case_id: int, template_id: int, locale: str | None, appeal_window: timedelta,
) -> ReplyDraft:
    case = visible_case(session, reader, case_id)
    template = get_template(session, template_id)
    if not template.active:
        raise NotFound("template_id", f"no active reply template {template_id}")
    texts = texts_of(session, template_id)
    if locale and locale not in texts:
        raise FieldError("locale", f"this template is written in {', '.join(sorted(texts))}")
    chosen = locale or locale_for(session.get_one(Subject, case.subject_id).locale, sorted(texts))
    context = reply_context(session, case, chosen, appeal_window)
    text = texts[chosen]
    return ReplyDraft(template, chosen, sorted(texts), render(text.subject, context, "subject"), render(text.body, context))


def recipients(session: Session, case: Case) -> list[tuple[str, str]]:
    """Who a reply on the case can be sent to: (value, label); the user first, then each report's notifier."""
    reports = session.execute(select(Report.id, Report.external_id).where(Report.case_id == case.id).order_by(Report.id)).all()
    return [(USER, "the user (the account concerned)")] + [(f"report:{r.id}", f"the notifier of report {r.external_id}") for r in reports]


def _recipient(session: Session, case: Case, value: str) -> Recipient:
    subject = session.get_one(Subject, case.subject_id)
    if value == USER:
        return Recipient(NoticeRecipient.USER, subject_id=subject.account_id or subject.id)
    report_id = value.removeprefix("report:")
    number = whole_number(report_id) if value.startswith("report:") else None
    report = session.get(Report, number) if number is not None and number >= 1 else None
    if report is None or report.case_id != case.id:
        raise FieldError("recipient", f"{USER!r} or a report of this case as 'report:<id>'")
    return Recipient(NoticeRecipient.NOTIFIER, report_id=report.id)


@dataclass(frozen=True)
class ReplyUse:
    """What staff did with a drafted reply: its final words, and whether they copied or sent it."""

    template_id: int
    locale: str
    subject: str
    body: str
    delivery: str
    recipient: str = USER  # for `sent` only


def use_reply(session: Session, actor: Actor, reader: Reviewer, case_id: int, use: ReplyUse) -> CaseReply:
    """Record the reply on the case (and send it, for `sent`), audited, in one transaction."""
    case = visible_case(session, reader, case_id)
    template = get_template(session, use.template_id)
    if not template.active:
        raise FieldError("template_id", "this template was deactivated: pick another")
    if use.delivery not in {d.value for d in ReplyDelivery}:
        raise FieldError("delivery", f"one of {', '.join(d.value for d in ReplyDelivery)}")
    if use.locale not in texts_of(session, template.id):
        raise FieldError("locale", "a locale the template is written in")
    body, subject = use.body.replace("\r\n", "\n").strip(), use.subject.replace("\r\n", "\n").strip()
    if not body:
        raise FieldError("body", "the reply is empty")
    if len(body) > MAX_BODY or len(subject) > MAX_SUBJECT:
        raise FieldError("body" if len(body) > MAX_BODY else "subject", "too long")
    if "\n" in subject or "\r" in subject:
        raise FieldError("subject", "a subject line is one line")
    if template.channel != ReplyChannel.EMAIL:
        subject = ""
    reply = CaseReply(case_id=case.id, template_id=template.id, channel=template.channel, locale=use.locale,
                      subject=subject, body=body, delivery=use.delivery, sent_by=reader.id)
    if use.delivery == ReplyDelivery.SENT:
        decision = _latest_decision(session, case.id)
        notice = queue_notice(session, actor, Draft(
            app_id=case.app_id, kind=NoticeKind.REPLY, recipient=_recipient(session, case, use.recipient),
            subject_id=case.subject_id, locale=use.locale, text=Rendered(subject, body + "\n"),
            decision_id=decision.id if decision else None, case_id=case.id,
        ))
        reply.notice_id = notice.id
    session.add(reply)
    session.flush()
    record(session, actor=actor, verb=f"case.reply_{use.delivery}", object_type="case", object_id=case.id, after={
        "reply_id": reply.id, "template_id": template.id, "channel": template.channel, "locale": use.locale,
        "delivery": use.delivery, "notice_id": reply.notice_id,
    })
    return reply


def replies_on(session: Session, reader: Reviewer, case_id: int) -> list[CaseReply]:
    """The replies used on the case, newest first."""
    visible_case(session, reader, case_id)
    return list(session.execute(select(CaseReply).where(CaseReply.case_id == case_id).order_by(CaseReply.id.desc())).scalars())
