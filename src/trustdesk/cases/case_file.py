"""Everything a reviewer needs to decide a case without leaving the page, in one read.

The case file gathers the subject with its parent and children, every report, the owning
account's history (earlier decisions, active strikes, a privacy restriction or objection in
force and the statements the person had kept), accounts linked to it through shared
devices, IPs, payment fingerprints or phone hashes, its escalations, and the comment thread
(internal comments, and notes the requester of an escalation filed through the API may read),
the automated signals analysers found on the subject, and the rules that hit it (with any
expression that failed on its evaluations).

It follows need-to-know (`trustdesk.cases.access`): a case the reader may not see is not
found, and subjects around it that sit in such a queue (a parent, a child, a linked account)
are left out. The shared identifiers are personal data: the file says which kinds are shared
and how many, and the values are shown only through the audited reveal on the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trustdesk.analysis.signals import signals_of
from trustdesk.audit.log import Actor, record
from trustdesk.cases import escalations
from trustdesk.cases.access import Reviewer, hidden_queue_ids, restricted_subjects, visible_case, visible_tree
from trustdesk.domain.errors import FieldError
from trustdesk.privacy.processing import Standing, standing
from trustdesk.rules.evaluations import errors_of, hits_of
from trustdesk.domain.vocabulary import CommentVisibility, SubjectKind
from trustdesk.store.models import (
    AccountEvent,
    Case,
    CaseComment,
    Decision,
    Escalation,
    Policy,
    Queue,
    Report,
    RuleEvaluation,
    RuleHit,
    Signal,
    StaffUser,
    Strike,
    Subject,
    utcnow,
)
from trustdesk.subjects import LINK_FIELDS, WITH_MEDIA, SubjectTree, account_identifiers

_HISTORY_LIMIT = 50
_LINKED_LIMIT = 25
_REPORTS_LIMIT = 200  # the case's report_count says how many there are in all


@dataclass
class LinkedAccount:
    account: Subject
    shared: dict[str, int]  # identifier kind → how many values are shared (the values are personal data)


@dataclass
class CaseFile:
    case: Case
    queue: Queue
    tree: SubjectTree
    reports: list[Report]
    account: Subject | None
    earlier_decisions: list[Decision]
    active_strikes: list[StrikeLine]
    linked_accounts: list[LinkedAccount]
    comments: list[tuple[CaseComment, str]]
    policy: Policy | None
    graphic: bool
    escalations: list[Escalation]
    has_requester: bool
    signals: list[Signal]  # newest first
    rule_hits: list[tuple[RuleHit, str, int, RuleEvaluation]]  # (hit, rule name, version, evaluation), newest first
    rule_errors: list[RuleEvaluation]  # the subject's evaluations on which something failed, newest first
    privacy: Standing | None  # what the account's answered privacy requests leave standing


def owning_account(session: Session, subject: Subject) -> Subject | None:
    if subject.kind == SubjectKind.ACCOUNT:
        return subject
    return session.get(Subject, subject.account_id) if subject.account_id else None


def linked_accounts(session: Session, account: Subject) -> list[LinkedAccount]:
    """Other accounts of the same app that share an identifier seen in this account's events."""
    mine = {name: set(values) for name, values in account_identifiers(session, account).items()}
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
            if value and value in mine.get(name, ()):
                shared.setdefault(row.account_id, {}).setdefault(name, set()).add(value)
    ids = sorted(shared, key=lambda i: -sum(len(v) for v in shared[i].values()))[:_LINKED_LIMIT]
    accounts = {s.id: s for s in session.execute(select(Subject).where(Subject.id.in_(ids))).scalars()}
    return [LinkedAccount(accounts[i], {k: len(v) for k, v in sorted(shared[i].items())}) for i in ids if i in accounts]


def _account_subject_ids(account: Subject):  # type: ignore[no-untyped-def]
    return select(Subject.id).where(or_(Subject.id == account.id, Subject.account_id == account.id))


@dataclass(frozen=True)
class StrikeLine:
    """An active strike as a reader sees it: its weight always counts (sanctions follow the
    total), but the policy of a decision on an item hidden from the reader is not named."""

    id: int
    policy_code: str | None  # None: the decision behind it is on something the reader may not see
    weight: float
    created_at: datetime
    expires_at: datetime


@dataclass
class AccountHistory:
    decisions: list[Decision]  # on the account and its items, newest first
    strikes: list[StrikeLine]  # active ones
    linked: list[LinkedAccount]
    privacy: Standing | None  # a restriction or objection in force, statements kept


def account_history(session: Session, reader: Reviewer, account: Subject) -> AccountHistory:
    """An account's earlier decisions, active strikes and linked accounts, as `reader` may see them:
    decisions on items and accounts hidden from them are left out."""
    decisions = list(session.execute(
        select(Decision).where(Decision.subject_id.in_(_account_subject_ids(account)))
        .order_by(Decision.id.desc()).limit(_HISTORY_LIMIT)
    ).scalars())
    strikes = list(session.execute(
        select(Strike).where(Strike.account_id == account.id, Strike.revoked_at.is_(None), Strike.expires_at > utcnow())
        .order_by(Strike.id)
    ).scalars())
    linked = linked_accounts(session, account)
    struck = dict(session.execute(
        select(Decision.id, Decision.subject_id).where(Decision.id.in_({st.decision_id for st in strikes if st.decision_id}))
    ).all())
    hidden = restricted_subjects(
        session, reader, {d.subject_id for d in decisions} | {link.account.id for link in linked} | set(struck.values())
    )
    lines = [
        StrikeLine(st.id, None if struck.get(st.decision_id or 0) in hidden else st.policy_code, st.weight, st.created_at, st.expires_at)
        for st in strikes
    ]
    return AccountHistory([d for d in decisions if d.subject_id not in hidden], lines,
                          [link for link in linked if link.account.id not in hidden], standing(session, account.id))


def load_case_file(session: Session, reader: Reviewer, case_id: int) -> CaseFile:
    """The case file as `reader` may see it; NotFound if the case is not theirs to see."""
    case = visible_case(session, reader, case_id)
    subject = session.get(Subject, case.subject_id, options=[WITH_MEDIA])
    assert subject is not None  # a case always points at a subject (foreign key)
    queue = session.get(Queue, case.queue_id)
    assert queue is not None
    account = owning_account(session, subject)
    if account is not None and restricted_subjects(session, reader, [account.id]):
        account = None  # the author's other content is in a queue hidden from the reader
    # The case's reports, and the subject's other open reports as far as their cases are the reader's to see.
    others = (Report.subject_id == subject.id) & (Report.status == "open") & Report.case_id.in_(
        select(Case.id).where(Case.queue_id.not_in(hidden_queue_ids(session, reader))))
    reports = list(session.execute(
        select(Report).where(or_(Report.case_id == case.id, others)).order_by(Report.id).limit(_REPORTS_LIMIT)
    ).scalars())
    history = account_history(session, reader, account) if account is not None else AccountHistory([], [], [], None)
    comments = list(session.execute(
        select(CaseComment, StaffUser.display_name).join(StaffUser, StaffUser.id == CaseComment.author_id)
        .where(CaseComment.case_id == case.id).order_by(CaseComment.id)
    ))
    policy = session.execute(select(Policy).where(Policy.code == case.policy_code, Policy.is_current.is_(True))).scalar_one_or_none()
    graphic = queue.graphic or bool(policy and (policy.graphic or policy.ncmec_incident_type))
    return CaseFile(case, queue, visible_tree(session, reader, subject), reports, account, history.decisions, history.strikes,
                    history.linked, comments, policy, graphic, escalations.escalations_of(session, case.id),
                    escalations.has_requester(session, case.id), signals_of(session, subject.id),
                    hits_of(session, subject.id), errors_of(session, subject.id), history.privacy)


def add_comment(
    session: Session, actor: Actor, author: Reviewer, case_id: int, body: str, visibility: str = CommentVisibility.INTERNAL.value,
) -> CaseComment:
    """Add to a case's thread: an internal comment, or a note (a status update) the requester
    of an escalation filed through the API reads; NotFound if the author may not see the case."""
    visible_case(session, author, case_id)
    body = body.strip()
    if not body or len(body) > 10_000:
        raise FieldError("body", "a comment needs 1–10,000 characters")
    if visibility not in {v.value for v in CommentVisibility}:
        raise FieldError("visibility", f"one of {', '.join(v.value for v in CommentVisibility)}")
    if visibility == CommentVisibility.REQUESTER and not escalations.has_requester(session, case_id):
        raise FieldError("visibility", "nobody filed an escalation of this case through the API: there is no requester to tell")
    comment = CaseComment(case_id=case_id, author_id=author.id, body=body, visibility=visibility)
    session.add(comment)
    session.flush()
    record(session, actor=actor, verb="case.commented", object_type="case", object_id=case_id,
           after={"comment_id": comment.id, "visibility": visibility})
    return comment

