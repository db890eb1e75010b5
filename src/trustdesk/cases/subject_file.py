"""Everything the subject page shows about a subject (an account, or an item an account owns).

Around the subject tree: its owning account (a message's author) and, for a message, its
conversation; the open cases on the account and its items, with links; the account's earlier
decisions and active strikes; the accounts linked to it; a readable history of the subject;
and, for an account, the timeline of its events (logins, registrations, purchases), newest
first, a page at a time.

It follows need-to-know (`trustdesk.cases.access`) like the case file: a subject the reader
may not see is not found, and cases, decisions, accounts and items hidden from them are left
out. The identifiers of account events are personal data: the timeline names which kinds an
event carries, and the values appear only through the audited reveal.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trustdesk.cases.access import Reviewer, hidden_queue_ids, restricted_subjects, visible_subject, visible_tree
from trustdesk.cases.case_file import AccountHistory, account_history, owning_account
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.store.models import AuditEvent, Case, Decision, Queue, Subject
from trustdesk.subjects import HistoryLine, SubjectTree, TimelineEvent, account_timeline, history_lines

_OPEN_CASES = 50


@dataclass
class SubjectFile:
    tree: SubjectTree
    account: Subject | None  # the owning account (a message's author), when it is another subject the reader may see
    conversation: Subject | None  # a message's conversation
    open_cases: list[tuple[Case, str, Subject]]  # (case, queue name, the subject it is about)
    history: AccountHistory | None
    lines: list[HistoryLine]
    timeline: list[TimelineEvent]
    timeline_next: str | None


def load_subject_file(session: Session, reader: Reviewer, subject_id: int, events_after: str | None = None) -> SubjectFile:
    """The subject page's content as `reader` may see it; NotFound if the subject is hidden from them."""
    subject = visible_subject(session, reader, subject_id)
    tree = visible_tree(session, reader, subject)
    account = owning_account(session, subject)
    if account is not None and restricted_subjects(session, reader, [account.id]):
        account = None
    parent = tree.parent
    conversation = parent if parent is not None and parent.kind == SubjectKind.CONVERSATION else None
    owner_id = account.id if account is not None else subject.id
    hidden = hidden_queue_ids(session, reader)
    rows = session.execute(
        select(Case, Queue.name, Subject).join(Queue, Queue.id == Case.queue_id).join(Subject, Subject.id == Case.subject_id)
        .where(Case.status == "open", Case.queue_id.not_in(hidden),
               or_(Subject.id == subject.id, Subject.id == owner_id, Subject.account_id == owner_id))
        .order_by(Case.priority_score.desc(), Case.id).limit(_OPEN_CASES)
    ).all()
    open_cases = [(c, q, s) for c, q, s in rows]
    timeline, more = account_timeline(session, subject.id, events_after) if subject.kind == SubjectKind.ACCOUNT else ([], None)
    return SubjectFile(
        tree=tree,
        account=account if account is not None and account.id != subject.id else None,
        conversation=conversation,
        open_cases=open_cases,
        history=account_history(session, reader, account) if account is not None else None,
        lines=history_lines(tree.history, _about_hidden_items(session, reader, tree.history)),
        timeline=timeline,
        timeline_next=more,
    )


def _about_hidden_items(session: Session, reader: Reviewer, events: list[AuditEvent]) -> set[int]:
    """The events that name a decision on a subject hidden from `reader` (a strike or an action
    on this account from a decision on a child-safety item): their details are not theirs to read."""
    named = {e.id: e.after["decision_id"] for e in events if isinstance((e.after or {}).get("decision_id"), int)}
    if not named:
        return set()
    on = dict(session.execute(select(Decision.id, Decision.subject_id).where(Decision.id.in_(set(named.values())))).all())
    hidden = restricted_subjects(session, reader, set(on.values()))
    return {event_id for event_id, decision_id in named.items() if on.get(decision_id) in hidden}
