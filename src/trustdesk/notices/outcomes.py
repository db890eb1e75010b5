"""The notices that decisions send, written in the decision's transaction.

- A decision that restricts (a violation with actions) tells the user: what was restricted
  and until when, under which rule, the facts (the rationale), whether automation detected or
  decided it, and how to appeal (the decision id, within the appeal window).
- A decision closing reports tells each notifier it can reach ("we reviewed your report and
  …"): through the webhook always (the host platform knows its report), by mail only when an
  address is known. Automated and anonymous reports have nobody to tell.
- An appeal's outcome tells the appellant (the user, or the notifier through their report).
- An escalation filed through the API tells its requester the outcome, through the webhook
  (the requester is known to the host platform by its reference, not by an address).

Under a child-safety policy the user's notices are withheld (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.domain.decision_trees import VIOLATION
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import (
    AppealOutcome,
    Appellant,
    AutomatedDecision,
    NoticeChannel,
    NoticeKind,
    NoticeRecipient,
    ReporterType,
)
from trustdesk.enforcement.actions import Applied
from trustdesk.notices.mail import notifier_address
from trustdesk.notices.notice import Draft, Recipient, app_channel, queue_notice
from trustdesk.notices.templates import pick_locale, render
from trustdesk.store.models import (
    Appeal,
    Decision,
    EnforcementAction,
    Escalation,
    Policy,
    Report,
    Subject,
)

WITHHELD_CHILD_SAFETY = (
    "child-safety policy: the account is not told why, so that nothing tips off someone who may be "
    "reported to the authorities; the restriction itself is delivered to the host platform"
)
# Notices nobody can read: the platform's own detection, and notices without a notifier.
_SILENT_REPORTERS = {ReporterType.AUTOMATED.value, ReporterType.ANONYMOUS.value}


def appeal_days(session: Session) -> int:
    """The appeal window notices state, from the settings the database was opened with."""
    return int(session.info.get("appeal_window_days", Settings.appeal_window_days))


def is_child_safety(policy: Policy) -> bool:
    """A policy of the child-safety family: one mapped to an NCMEC incident type."""
    return policy.ncmec_incident_type is not None


def after_decision(session: Session, actor: Actor, decision: Decision, subject: Subject, reports: Sequence[Report],
                   applied: Sequence[Applied]) -> None:
    """The user's notice of a restriction and the notifiers' notices of the reports closed.

    `applied` is what the decision applied to the subjects themselves (its cascades aside), in
    order. The user's notice names the statement of reasons of the decision's first restriction
    (each restricted item has its own; the host platform finds the others by the decision id)."""
    policy = session.get_one(Policy, decision.policy_id)
    channel = app_channel(session, subject.app_id)  # read once for all of the decision's notices
    restrictions = [a for a in applied if a.action.kind != Action.REINSTATE.value]
    if decision.verdict == VIOLATION and restrictions:
        account = _account(session, subject)
        locale = _user_locale(account, subject)
        statement_of_reasons_id = next((a.statement_id for a in restrictions if a.statement_id is not None), None)
        text = render(NoticeKind.DECISION, locale, {
            "policy_title": policy.title,
            "restrictions": [{"kind": a.action.kind, "ends_at": _when(a.action.ends_at)} for a in restrictions],
            "rationale": decision.rationale,
            "automated_detection": decision.automated_detection,
            "automated_decision": decision.automated_decision != AutomatedDecision.NOT_AUTOMATED.value,
            "appeal_days": appeal_days(session),
            "appeal_reference": str(decision.id),
            "statement_of_reasons_id": statement_of_reasons_id,
        })
        queue_notice(session, actor, Draft(
            subject.app_id, NoticeKind.DECISION, Recipient(NoticeRecipient.USER, subject_id=account.id), subject.id, locale, text,
            decision_id=decision.id, case_id=decision.case_id, statement_of_reasons_id=statement_of_reasons_id,
            withheld=WITHHELD_CHILD_SAFETY if is_child_safety(policy) else None, channel=channel,
        ))
    for report in reports:
        if report.reporter_type in _SILENT_REPORTERS:
            continue
        if channel is NoticeChannel.SMTP and notifier_address(session, report) is None:
            continue
        locale = _notifier_locale(session, report)
        text = render(NoticeKind.REPORT_OUTCOME, locale, {
            "action_taken": decision.verdict == VIOLATION,
            "report_reference": report.external_id,
            "appeal_days": appeal_days(session),
            "appeal_reference": report.external_id,
        })
        queue_notice(session, actor, Draft(
            report.app_id, NoticeKind.REPORT_OUTCOME, Recipient(NoticeRecipient.NOTIFIER, report_id=report.id), subject.id,
            locale, text, decision_id=decision.id, case_id=decision.case_id, channel=channel,
        ))


def after_appeal(session: Session, actor: Actor, appeal: Appeal, judged: Decision, restored: Sequence[EnforcementAction]) -> None:
    """The appellant's notice of the outcome; overturned says what was restored."""
    subject = session.get_one(Subject, judged.subject_id)
    policy = session.get_one(Policy, judged.policy_id)
    if appeal.appellant == Appellant.NOTIFIER.value and appeal.report_id is not None:
        report = session.get_one(Report, appeal.report_id)
        recipient, locale, withheld = Recipient(NoticeRecipient.NOTIFIER, report_id=report.id), _notifier_locale(session, report), None
    else:
        account = _account(session, subject)
        recipient, locale = Recipient(NoticeRecipient.USER, subject_id=account.id), _user_locale(account, subject)
        withheld = WITHHELD_CHILD_SAFETY if is_child_safety(policy) else None
    kinds = list(dict.fromkeys(a.kind for a in restored if a.cascade_of is None))
    text = render(NoticeKind.APPEAL_OUTCOME, locale, {
        "upheld": appeal.outcome == AppealOutcome.UPHELD.value,
        "appellant": appeal.appellant,
        "restored": kinds,
        "rationale": judged.rationale,
        "policy_title": policy.title,
        "appeal_reference": appeal.external_id or str(appeal.id),
    })
    queue_notice(session, actor, Draft(
        subject.app_id, NoticeKind.APPEAL_OUTCOME, recipient, subject.id, locale, text,
        decision_id=judged.id, case_id=appeal.case_id, withheld=withheld,
    ))


def after_escalation(session: Session, actor: Actor, escalation: Escalation, decision: Decision) -> None:
    """The requester of an escalation filed through the API hears its outcome."""
    if escalation.api_client_id is None or escalation.app_id is None:
        return
    locale = pick_locale(None)
    text = render(NoticeKind.ESCALATION_OUTCOME, locale, {
        "escalation_reference": escalation.external_id or str(escalation.id),
        "requester_ref": escalation.requester_ref or "",
        "violation": decision.verdict == VIOLATION,
    })
    queue_notice(session, actor, Draft(
        escalation.app_id, NoticeKind.ESCALATION_OUTCOME, Recipient(NoticeRecipient.REQUESTER, escalation_id=escalation.id),
        decision.subject_id, locale, text, decision_id=decision.id, case_id=escalation.case_id, channel=NoticeChannel.WEBHOOK,
    ))


def _account(session: Session, subject: Subject) -> Subject:
    """The account a notice about the subject goes to (the subject itself when it has no owner)."""
    if subject.account_id is None or subject.account_id == subject.id:
        return subject
    return session.get(Subject, subject.account_id) or subject


def _user_locale(account: Subject, subject: Subject) -> str:
    return pick_locale(account.locale or subject.locale)


def _notifier_locale(session: Session, report: Report) -> str:
    """The reporting account's locale; a notifier known only by email is written to in English."""
    reporter = session.get(Subject, report.reporter_subject_id) if report.reporter_subject_id else None
    return pick_locale(reporter.locale if reporter else None)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


