"""Need-to-know: which queues, cases and subjects a staff member may see and work.

A queue's required roles guard its cases everywhere: the case page and case file, queue
listings, comments, assignment, "next case", leases, flags and decisions, and the subjects
those cases are about (their page, reports and media). A queue without required roles is open
to every staff member, except those whose roles are all confined ones (`roles.CONFINED`: the
privacy team), who see only the queues that name their role.

Admins get no exception: they configure queues and see every queue's counts, but the content
of a role-restricted queue is for the people holding its role (child-safety material is for
child-safety staff). Someone who needs both holds both roles.

An appeal is judged afresh: the reviewer of the decision appealed may read its appeal case but
is never served it, assigned it nor allowed to decide it (`judges_own_decision`).

A subject with a case in a compartment's queue (`roles.COMPARTMENTS`: open only to child-safety,
legal or privacy staff) hidden from someone is hidden from them too, except through a legal
request's case: that case is about the person's rights or a legal duty, not about what they did,
and must not take an account out of moderators' sight. A case in a queue open to more senior
staff (appeals, tiers) hides nothing: moderators still work the subject's other reports.

Refusals are chosen so that they confirm nothing: a case or subject you may not see answers
exactly like one that does not exist (`NotFound`, 404). A queue is no secret (its name and
counts are on the queue list), so reading its cases is refused plainly (`Forbidden`, 403).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session, aliased

from trustdesk.domain.errors import Forbidden, NotFound
from trustdesk.domain.roles import CASE_TAKERS, COMPARTMENTS, CONFINED
from trustdesk.domain.vocabulary import CaseKind
from trustdesk.store.models import Appeal, Case, Queue, StaffUser, Subject
from trustdesk.subjects import WITH_MEDIA, SubjectTree, load_tree


@dataclass(frozen=True)
class Reviewer:
    """A staff member as the cases package sees them: who, with which roles and languages."""

    id: int
    roles: tuple[str, ...]
    languages: tuple[str, ...] = ()

    @classmethod
    def of(cls, user: StaffUser) -> "Reviewer":
        return cls(user.id, tuple(user.roles), tuple((user.skills or {}).get("languages", [])))


def may_see(queue: Queue, who: Reviewer) -> bool:
    """Whether `who` may see the cases of `queue`: it requires a role they hold, or none and
    they hold a role that is not confined to the queues naming it."""
    if queue.required_roles:
        return bool(set(queue.required_roles) & set(who.roles))
    return not who.roles or not set(who.roles) <= CONFINED


def narrower(queue: Queue, than: Queue) -> bool:
    """Whether `queue` is closed to some role that may see `than`'s cases: it requires roles, and
    `than` requires none or one `queue` does not."""
    return bool(queue.required_roles) and not (than.required_roles and set(than.required_roles) <= set(queue.required_roles))


def may_work(queue: Queue, who: Reviewer) -> bool:
    """Whether `who` may take `queue`'s cases: they may see them and speak one of its languages."""
    if not may_see(queue, who):
        return False
    return not queue.required_languages or bool(set(queue.required_languages) & set(who.languages))


def may_take_assignments(queue: Queue, user: StaffUser) -> bool:
    """Whether a case of `queue` may be assigned to `user`: an active case taker who may work it."""
    reviews = bool({r.value for r in CASE_TAKERS} & set(user.roles))
    return user.active and reviews and may_work(queue, Reviewer.of(user))


def judges_own_decision(session: Session, staff_id: int, case_id: int) -> bool:
    """Whether `case_id` is the appeal of a decision `staff_id` made."""
    return session.execute(
        select(Appeal.id).where(Appeal.case_id == case_id, Appeal.original_reviewer_id == staff_id)
    ).first() is not None


def hidden_queue_ids(session: Session, who: Reviewer) -> set[int]:
    """The queues whose cases `who` may not see (a handful of rows: queues are configuration)."""
    return {q.id for q in session.execute(select(Queue)).scalars() if not may_see(q, who)}


def compartment(queue: Queue) -> bool:
    """Whether `queue` is open only to need-to-know teams, so that its cases hide their subject."""
    return bool(queue.required_roles) and set(queue.required_roles) <= COMPARTMENTS


def hiding_queue_ids(session: Session, who: Reviewer) -> set[int]:
    """The compartments' queues hidden from `who`: a case in one hides its subject from them."""
    return {q.id for q in session.execute(select(Queue)).scalars() if compartment(q) and not may_see(q, who)}


def visible_queue(session: Session, who: Reviewer, queue_id: int) -> Queue:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("queue_id", f"no queue {queue_id}")
    if not may_see(queue, who):
        raise Forbidden("queue_id", f"this queue's cases are for {', '.join(queue.required_roles)} staff")
    return queue


# Cases for a legal duty about a subject, which their own staff handle whoever else may see the subject.
LEGAL_KINDS = frozenset({CaseKind.PRIVACY_REQUEST.value, CaseKind.LAW_ENFORCEMENT_REQUEST.value})


def visible_case(session: Session, who: Reviewer, case_id: int, *, lock: bool = False) -> Case:
    """The case if `who` may see it; NotFound, as for a case that does not exist, otherwise.
    A moderation case about a subject hidden from `who` (reported since to a queue they may not
    see) is hidden too; a privacy or law-enforcement request about it is for its own staff."""
    stmt = select(Case, Queue).join(Queue, Queue.id == Case.queue_id).where(Case.id == case_id)
    found = session.execute(stmt.with_for_update(of=Case) if lock else stmt).first()
    if found is None or not may_see(found.Queue, who) or (
        found.Case.kind not in LEGAL_KINDS and restricted_subjects(session, who, [found.Case.subject_id])
    ):
        raise NotFound("case_id", f"no case {case_id}")
    return found.Case


def restricted_subjects(session: Session, who: Reviewer, subject_ids: Iterable[int]) -> set[int]:
    """Those of `subject_ids` with a case (open or decided) in a compartment's queue `who` may
    not see, other than a privacy or law-enforcement request's: a legal duty about someone does
    not take them out of the moderators' sight (the request itself stays its staff's)."""
    ids = set(subject_ids)
    hidden = hiding_queue_ids(session, who) if ids else set()
    if not hidden:
        return set()
    return set(session.execute(select(Case.subject_id).where(Case.subject_id.in_(ids), _hides(Case, hidden)).distinct()).scalars())


def _hides(case: Any, hidden: set[int]) -> ColumnElement[bool]:
    """A case (the model or an alias of it) that hides its subject from whoever may not see the
    `hidden` queues (`hiding_queue_ids`): one in such a queue, other than a legal request's."""
    return case.queue_id.in_(hidden) & case.kind.not_in(LEGAL_KINDS)


def confining_queues(session: Session, chosen: Mapping[int, Queue]) -> dict[int, Queue]:
    """For each subject (by id) whose cases (a legal request's aside) sit in a compartment's
    queue narrower than the queue `chosen` for its new case, that queue, the first in routing
    order: the new case goes there too. Elsewhere it would be served to reviewers the subject is
    hidden from, who could not open it (a spam report about a photo once reported as CSAM stays
    with child-safety staff)."""
    if not chosen:
        return {}
    pairs = session.execute(select(Case.subject_id, Case.queue_id).where(
        Case.subject_id.in_(list(chosen)), Case.kind.not_in(LEGAL_KINDS)).distinct()).all()
    found: dict[int, Queue] = {}
    for subject_id, queue_id in pairs:
        queue = session.get_one(Queue, queue_id)
        first = found.get(subject_id)
        hides = compartment(queue) and narrower(queue, chosen[subject_id])
        if hides and (first is None or (queue.position, queue.id) < (first.position, first.id)):
            found[subject_id] = queue
    return found


def unhidden_subject(subject_id: ColumnElement[int], hidden: set[int]) -> ColumnElement[bool]:
    """`restricted_subjects` in SQL, for a query's rows: true for a subject with no case in the
    `hidden` queues (`hiding_queue_ids`) other than a legal request's."""
    if not hidden:
        return true()
    other = aliased(Case)  # the subject's cases, apart from a case the query is about
    return ~exists().where(other.subject_id == subject_id, _hides(other, hidden))


def visible_subject(session: Session, who: Reviewer, subject_id: int) -> Subject:
    """The subject if `who` may see it; NotFound, as for a subject that does not exist, otherwise."""
    subject = session.get(Subject, subject_id, options=[WITH_MEDIA])
    if subject is None or restricted_subjects(session, who, [subject_id]):
        raise NotFound("subject_id", f"no subject {subject_id}")
    return subject


def visible_tree(session: Session, who: Reviewer, subject: Subject) -> SubjectTree:
    """The subject with its parent and children, leaving out those hidden from `who`."""
    tree = load_tree(session, subject)
    hidden = restricted_subjects(session, who, [c.id for c in tree.children] + ([tree.parent.id] if tree.parent else []))
    if hidden:
        tree.children = [c for c in tree.children if c.id not in hidden]
        tree.parent = None if tree.parent and tree.parent.id in hidden else tree.parent
    return tree
