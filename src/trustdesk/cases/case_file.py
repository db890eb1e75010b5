"""Everything a reviewer needs to decide a case without leaving the page, in one read.

The case file gathers the subject with its parent and children, every report, the owning
account's history (earlier decisions, active strikes), accounts linked to it through shared
devices, IPs, payment fingerprints or phone hashes, and the internal comment thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.store.models import (
    AccountEvent,
    Case,
    CaseComment,
    Decision,
    Policy,
    Queue,
    Report,
    StaffUser,
    Strike,
    Subject,
    utcnow,
)
from trustdesk.subjects import WITH_MEDIA, SubjectTree, load_tree

LINK_FIELDS = ("device_id", "ip", "payment_fingerprint", "phone_hash")
_HISTORY_LIMIT = 50
_LINKED_LIMIT = 25
_REPORTS_LIMIT = 200  # the case's report_count says how many there are in all


@dataclass
class LinkedAccount:
    account: Subject
    shared: dict[str, list[str]]  # identifier kind → the shared values


@dataclass
class CaseFile:
    case: Case
    queue: Queue
    tree: SubjectTree
    reports: list[Report]
    account: Subject | None
    earlier_decisions: list[Decision]
    active_strikes: list[Strike]
    linked_accounts: list[LinkedAccount]
    comments: list[tuple[CaseComment, str]]
    policy: Policy | None
    graphic: bool


def owning_account(session: Session, subject: Subject) -> Subject | None:
    if subject.kind == SubjectKind.ACCOUNT:
        return subject
    return session.get(Subject, subject.account_id) if subject.account_id else None


def linked_accounts(session: Session, account: Subject) -> list[LinkedAccount]:
    """Other accounts of the same app that share an identifier seen in this account's events."""
    mine: dict[str, set[str]] = {name: set() for name in LINK_FIELDS}
    for event in session.execute(
        select(*(getattr(AccountEvent, f) for f in LINK_FIELDS)).where(AccountEvent.account_id == account.id).limit(500)
    ):
        for name, value in zip(LINK_FIELDS, event):
            if value:
                mine[name].add(value)
    conditions = [getattr(AccountEvent, name).in_(values) for name, values in mine.items() if values]
    if not conditions:
        return []
    shared: dict[int, dict[str, set[str]]] = {}
    for row in session.execute(
        select(AccountEvent.account_id, *(getattr(AccountEvent, f) for f in LINK_FIELDS))
        .where(AccountEvent.app_id == account.app_id, AccountEvent.account_id != account.id, or_(*conditions))
        .limit(2000)
    ):
        for name, value in zip(LINK_FIELDS, row[1:]):
            if value and value in mine[name]:
                shared.setdefault(row.account_id, {}).setdefault(name, set()).add(value)
    ids = sorted(shared, key=lambda i: -sum(len(v) for v in shared[i].values()))[:_LINKED_LIMIT]
    accounts = {s.id: s for s in session.execute(select(Subject).where(Subject.id.in_(ids))).scalars()}
    return [LinkedAccount(accounts[i], {k: sorted(v) for k, v in shared[i].items()}) for i in ids if i in accounts]


def _account_subject_ids(account: Subject):  # type: ignore[no-untyped-def]
    return select(Subject.id).where(or_(Subject.id == account.id, Subject.account_id == account.id))


def load_case_file(session: Session, case_id: int) -> CaseFile | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    subject = session.get(Subject, case.subject_id, options=[WITH_MEDIA])
    assert subject is not None  # a case always points at a subject (foreign key)
    queue = session.get(Queue, case.queue_id)
    assert queue is not None
    account = owning_account(session, subject)
    reports = list(session.execute(
        select(Report).where(or_(Report.case_id == case.id, and_(Report.subject_id == subject.id, Report.status == "open")))
        .order_by(Report.id).limit(_REPORTS_LIMIT)
    ).scalars())
    decisions: list[Decision] = []
    strikes: list[Strike] = []
    linked: list[LinkedAccount] = []
    if account is not None:
        decisions = list(session.execute(
            select(Decision).where(Decision.subject_id.in_(_account_subject_ids(account)))
            .order_by(Decision.id.desc()).limit(_HISTORY_LIMIT)
        ).scalars())
        strikes = list(session.execute(
            select(Strike).where(Strike.account_id == account.id, Strike.revoked_at.is_(None), Strike.expires_at > utcnow())
            .order_by(Strike.id)
        ).scalars())
        linked = linked_accounts(session, account)
    comments = list(session.execute(
        select(CaseComment, StaffUser.display_name).join(StaffUser, StaffUser.id == CaseComment.author_id)
        .where(CaseComment.case_id == case.id).order_by(CaseComment.id)
    ))
    policy = session.execute(select(Policy).where(Policy.code == case.policy_code, Policy.is_current.is_(True))).scalar_one_or_none()
    graphic = queue.graphic or bool(policy and (policy.graphic or policy.ncmec_incident_type))
    return CaseFile(case, queue, load_tree(session, subject), reports, account, decisions, strikes, linked, comments, policy, graphic)


def add_comment(session: Session, actor: Actor, author_id: int, case_id: int, body: str) -> CaseComment:
    body = body.strip()
    if not body or len(body) > 10_000:
        raise ValueError("body: a comment needs 1–10,000 characters")
    if session.get(Case, case_id) is None:
        raise LookupError(f"case_id: no case {case_id}")
    comment = CaseComment(case_id=case_id, author_id=author_id, body=body)
    session.add(comment)
    session.flush()
    record(session, actor=actor, verb="case.commented", object_type="case", object_id=case_id, after={"comment_id": comment.id})
    return comment

