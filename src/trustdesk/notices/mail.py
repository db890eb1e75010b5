"""Mailing notices (an app's notice channel `smtp`): a worker job per notice, with `smtplib`.

The address is read when the notice is sent: the account's email for a user, the notice's
email (or the reporting account's) for a notifier. A temporary failure (a 4xx answer, a
refused or dropped connection, a timeout) is counted on the notice and raised, so the job
queue tries again after its growing delay; the last allowed attempt, or a permanent failure
(a 5xx answer), leaves the notice `failed` with the error, never silently dropped. Each
attempt is committed before the mail goes out, so a worker that dies mid-send still counts it.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.orm import Session

from trustdesk.config import Settings
from trustdesk.domain.vocabulary import NoticeState
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.notices.states import settle
from trustdesk.store.database import Database
from trustdesk.store.models import Notice, Report, Subject

# As many as the job queue gives a job (`Job.max_attempts`): the last one settles the notice.
MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 10.0
MAX_ERROR = 500
NO_ADDRESS = "no email address is known for the {role}"


@dataclass(frozen=True)
class SendNotice:
    notice_id: int


class TemporaryFailure(Exception):
    """The mail server could not take the notice now; the job is tried again later."""


def gave_up_mailing(ctx: WorkerContext, job: SendNotice) -> None:
    """The job failed for good (its worker died on its last attempt, or something other than the
    mail server failed): a notice still pending becomes `failed`, where staff see it."""
    with ctx.db.session() as session:
        settle(session, job.notice_id, sent=False, error="the mailing job failed on every attempt (see the worker's log)")


@job_kind("send_notice", SendNotice, given_up=gave_up_mailing)
def send_notice(ctx: WorkerContext, job: SendNotice) -> None:
    mail_notice(ctx.db, ctx.settings, job.notice_id)


def mail_notice(db: Database, settings: Settings, notice_id: int) -> None:
    """One attempt to mail a pending notice; raises `TemporaryFailure` to be tried again."""
    with db.session() as session:
        notice = session.get(Notice, notice_id, with_for_update=True)
        if notice is None or notice.state != NoticeState.PENDING.value:
            return  # sent, settled, or withheld meanwhile: a repeated job does nothing
        address = address_of(session, notice)
        if address is None or not settings.smtp_host:
            why = NO_ADDRESS.format(role=notice.recipient_role) if address is None else \
                "mail is not configured: set TRUSTDESK_SMTP_HOST"
            settle(session, notice.id, sent=False, error=why)
            return
        notice.attempts += 1
        message = _message(settings, notice, address)
    error, temporary = _send(settings, message)
    with db.session() as session:
        if error is None:
            settle(session, notice_id, sent=True)
            return
        notice = session.get_one(Notice, notice_id, with_for_update=True)
        again = temporary and notice.attempts < MAX_ATTEMPTS
        if again:
            notice.error = error
        else:
            settle(session, notice_id, sent=False, error=f"{error} (attempt {notice.attempts})")
    if again:
        raise TemporaryFailure(error)


def address_of(session: Session, notice: Notice) -> str | None:
    """The email address to mail the notice to, read when it is sent (an erasure since leaves none)."""
    if notice.recipient_address:
        return notice.recipient_address
    if notice.recipient_subject_id is not None:
        return _email(session.get_one(Subject, notice.recipient_subject_id))
    if notice.recipient_report_id is not None:
        return notifier_address(session, session.get_one(Report, notice.recipient_report_id))
    return None


def notifier_address(session: Session, report: Report) -> str | None:
    """Where a notifier is mailed: the notice's email, else the reporting account's."""
    if report.notifier_email:
        return report.notifier_email
    return _email(session.get(Subject, report.reporter_subject_id)) if report.reporter_subject_id else None


def _email(subject: Subject | None) -> str | None:
    email = (subject.personal or {}).get("email") if subject is not None else None
    return email if isinstance(email, str) and email else None


def _message(settings: Settings, notice: Notice, address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Subject"] = " ".join(notice.subject_line.split())  # one line, whatever a placeholder's value held
    message["Message-ID"] = _message_id(settings, notice)
    message.set_content(notice.body)
    message["Content-Language"] = notice.locale  # after the content, which replaces the Content-* headers
    return message


def _message_id(settings: Settings, notice: Notice) -> str:
    """The same for every attempt at a notice: mail sent again after a worker died on the way back
    is a repeat the receiving side can recognise and drop."""
    domain = settings.smtp_from.rpartition("@")[2].strip(" <>") or "trustdesk.invalid"
    return f"<notice-{notice.id}.{notice.created_at:%Y%m%d%H%M%S}@{domain}>"


def _send(settings: Settings, message: EmailMessage) -> tuple[str | None, bool]:
    """Mail it; returns (None, _) when the server took it, else the error and whether it is temporary."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return f"the recipient was refused (SMTP {', '.join(map(str, codes))})", all(400 <= c < 500 for c in codes)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {text}"[:MAX_ERROR], 400 <= exc.smtp_code < 500
    except (smtplib.SMTPException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"[:MAX_ERROR], True
    return None, False
