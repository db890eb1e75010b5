"""Gathering a CyberTipline report's facts from a child-safety case.

- incident type: the `ncmec_incident_type` of the policy the case was confirmed under (the
  violation decided on it), or before a decision of the case's policy; a policy without one
  is no child-safety policy and makes no report;
- incident time: when the content was created on the platform, else its first report;
- the reported user: the owning account's external id (ESP identifier), title (screen name),
  display name, profile URL, the IPs and device ids of its latest account events, and whether
  a suspension or ban on it stands;
- files: the subject's stored media with their MD5 and SHA-256, and whether staff opened them
  (the console records each opening of sensitive media as `subject.sensitive_media_opened`);
- additional info: the case, policy, report count and the reviewer's rationale.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.cases.access import Reviewer, visible_case
from trustdesk.domain.errors import FieldError
from trustdesk.domain.media_types import named
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import MediaStatus, SubjectKind
from trustdesk.enforcement.actions import APPLIED, EXPIRED, UNDONE
from trustdesk.ncmec.tipline import DeviceSeen, IpCapture, ReportedUser, Tipline, TiplineFile
from trustdesk.store.models import (
    AccountEvent,
    App,
    AuditEvent,
    Blob,
    Case,
    Decision,
    EnforcementAction,
    MediaItem,
    Policy,
    Report,
    Subject,
)

MEDIA_OPENED = "subject.sensitive_media_opened"
_EVENTS_READ = 100  # the latest account events: NCMEC wants recent captures, not a whole history


def confirming_decision(session: Session, case: Case) -> Decision | None:
    """The latest violation decided on the case: what confirms it is apparent exploitation."""
    return session.execute(
        select(Decision).where(Decision.case_id == case.id, Decision.verdict == "violation").order_by(Decision.id.desc()).limit(1)
    ).scalar_one_or_none()


def case_policy(session: Session, case: Case, decision: Decision | None) -> Policy | None:
    """The policy version the case was confirmed under, or the current one of its policy code;
    None for a case under no policy (a privacy or law-enforcement request: its code is the kind
    of request or instrument)."""
    if decision is not None:
        return session.get_one(Policy, decision.policy_id)
    return session.execute(select(Policy).where(Policy.code == case.policy_code, Policy.is_current.is_(True))).scalar_one_or_none()


def gather(session: Session, who: Reviewer, case_id: int) -> Tipline:
    """The report's facts; NotFound for a case `who` may not see, FieldError for one whose
    policy maps to no NCMEC incident type."""
    case = visible_case(session, who, case_id)
    decision = confirming_decision(session, case)
    policy = case_policy(session, case, decision)
    if policy is None or not policy.ncmec_incident_type:
        raise FieldError("case_id", f"{case.policy_code or 'no policy'} maps to no NCMEC incident type: this is no child-safety case")
    subject = session.get_one(Subject, case.subject_id)
    app = session.get_one(App, case.app_id)
    account_id = subject.id if subject.kind == SubjectKind.ACCOUNT else subject.account_id
    account = session.get(Subject, account_id) if account_id else None
    first_report = session.execute(
        select(func.min(func.coalesce(Report.reported_at, Report.received_at))).where(Report.case_id == case.id)
    ).scalar_one()
    info = [f"TrustDesk case {case.id}: {subject.kind} {subject.external_id} on {app.name}, reported under "
            f"{policy.code} ({policy.title}); {case.report_count} report(s)."]
    if decision is not None and decision.rationale:
        info.append(f"Reviewer's finding: {decision.rationale}")
    return Tipline(
        incident_type=policy.ncmec_incident_type,
        incident_at=subject.created_at or first_report or case.created_at,
        platform=app.name,
        reported=reported_user(session, account, app) if account is not None else None,
        files=tuple(_files(session, subject)),
        additional_info="\n".join(info),
        escalate=case.imminent_harm,
        urls=(subject.url,) if subject.url else (),
    )


def reported_user(session: Session, account: Subject, app: App) -> ReportedUser:
    events = session.execute(
        select(AccountEvent).where(AccountEvent.account_id == account.id).order_by(AccountEvent.occurred_at.desc()).limit(_EVENTS_READ)
    ).scalars().all()
    banned_at = session.execute(select(func.max(EnforcementAction.created_at)).where(
        EnforcementAction.subject_id == account.id, EnforcementAction.status == APPLIED, EnforcementAction.kind == Action.BAN.value,
    )).scalar_one()
    # "Temporarily disabled at any point": the latest suspension, with when it ended if it has.
    suspension = session.execute(select(EnforcementAction).where(
        EnforcementAction.subject_id == account.id, EnforcementAction.kind == Action.SUSPEND.value,
    ).order_by(EnforcementAction.created_at.desc(), EnforcementAction.id.desc()).limit(1)).scalar_one_or_none()
    display_name = (account.personal or {}).get("display_name")
    return ReportedUser(
        esp_identifier=account.external_id,
        esp_service=app.name,
        screen_name=account.title,
        display_names=(display_name,) if display_name else (),
        profile_urls=(account.url,) if account.url else (),
        ip_captures=tuple(IpCapture(e.ip, e.kind, e.occurred_at) for e in events if e.ip),
        devices=tuple(DeviceSeen(e.device_id, e.kind, e.occurred_at) for e in events if e.device_id),
        suspended_at=suspension.created_at if suspension else None,
        reenabled_at=_reenabled_at(suspension) if suspension else None,
        banned_at=banned_at,
    )


def _reenabled_at(suspension: EnforcementAction) -> datetime | None:
    """When a suspension stopped disabling the account: withdrawn, or run out; None while it stands."""
    if suspension.status == UNDONE:
        return suspension.undone_at
    return suspension.ends_at if suspension.status == EXPIRED else None


def _files(session: Session, subject: Subject) -> list[TiplineFile]:
    opened = {
        (event.after or {}).get("media_item_id") for event in session.execute(
            select(AuditEvent).where(AuditEvent.verb == MEDIA_OPENED, AuditEvent.object_type == "subject",
                                     AuditEvent.object_id == str(subject.id))
        ).scalars()
    }
    rows = session.execute(
        select(MediaItem, Blob).join(Blob, Blob.sha256 == MediaItem.blob_sha256)
        .where(MediaItem.subject_id == subject.id, MediaItem.status == MediaStatus.STORED.value).order_by(MediaItem.position)
    ).all()
    return [
        TiplineFile(
            media_item_id=item.id, sha256=blob.sha256, md5=blob.md5,
            file_name=f"{subject.external_id}-{item.position}.{named(blob.content_type).extension}",
            viewed_by_staff=item.id in opened, received_at=item.created_at,
        )
        for item, blob in rows
    ]
