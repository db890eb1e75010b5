"""One search box for staff: ids, external ids, exact personal identifiers, and text.

A query is tried every way it could be meant, exact matches first: a number as a case, report
or subject id; one word as a subject's or report's external id (in every app); an email,
phone number, IP address or opaque identifier (device id, payment fingerprint, phone hash) by
its keyed digest (`trustdesk.search.identifier_index`), never in clear; and its words as full
text over report and subject text (`trustdesk.store.full_text`), newest first, a page at a time.

Results follow need-to-know (`trustdesk.cases.access`): a case in a queue the searcher may not
see, and a subject with such a case (with its reports), are left out before anything is
counted or paged, so nothing about them shows. Comparing a query with personal identifiers is
an audited read: the event says who compared which kinds of identifier, never the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import literal_column, select, tuple_, union_all
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import LEGAL_KINDS, Reviewer, hidden_queue_ids, hiding_queue_ids, unhidden_subject
from trustdesk.domain.errors import FieldError
from trustdesk.domain.identifiers import IdentifierKind, kinds_of
from trustdesk.search.identifier_index import digest_of
from trustdesk.store import full_text
from trustdesk.domain.client_input import whole_number
from trustdesk.store.models import App, Case, IdentifierDigest, Queue, Report, Subject

MAX_QUERY = 200
PAGE_SIZE = 25
MAX_PAGE = 40
_EXACT_LIMIT = 50
_EXCERPT = 160


class HitKind(StrEnum):
    CASE = "case"
    REPORT = "report"
    SUBJECT = "subject"


@dataclass(frozen=True)
class Hit:
    kind: HitKind
    id: int
    matched: str  # how: "case id", "subject external id", "email", "text", …
    title: str
    summary: str
    app: str
    subject_id: int
    case_id: int | None
    at: datetime

    @property
    def exact(self) -> bool:
        return self.matched != "text"

    @property
    def url(self) -> str:
        """Where the console shows it: a report on its case's page, or else on its subject's."""
        if self.kind is HitKind.CASE:
            return f"/cases/{self.id}"
        if self.kind is HitKind.REPORT:
            return f"/cases/{self.case_id}" if self.case_id else f"/subjects/{self.subject_id}#report-{self.id}"
        return f"/subjects/{self.id}"


@dataclass
class SearchPage:
    query: str
    page: int
    hits: list[Hit]
    next_page: int | None
    compared_as: list[str] = field(default_factory=list)  # identifier kinds the query was compared as

    @property
    def only_exact(self) -> Hit | None:
        """The one hit of a first page that found exactly one thing, by id or identifier."""
        return self.hits[0] if self.page == 1 and len(self.hits) == 1 and self.hits[0].exact else None


Ref = tuple[HitKind, int, str]  # (kind, id, how it matched)


def search(session: Session, actor: Actor, who: Reviewer, query: str, kind: HitKind | None = None, page: int = 1) -> SearchPage:
    """What `who` may see that `query` finds, exact matches first; identifier lookups are audited."""
    query = query.strip()
    if not query:
        raise FieldError("q", "type an id, an email, a phone number, an IP address or some words to search for")
    if len(query) > MAX_QUERY:
        raise FieldError("q", f"at most {MAX_QUERY} characters")
    if not 1 <= page <= MAX_PAGE:
        raise FieldError("page", f"pages go from 1 to {MAX_PAGE}; narrow the search instead")
    wanted = (kind,) if kind else tuple(HitKind)
    hidden = hiding_queue_ids(session, who)  # the queues whose cases hide their subjects from `who`
    refs: list[Ref] = []
    compared: list[IdentifierKind] = []
    if page == 1:
        refs += _by_id(session, query, wanted, hidden_queue_ids(session, who), hidden)
        refs += _by_external_id(session, query, wanted, hidden)
        compared = [k for k in kinds_of(query) if HitKind.SUBJECT in wanted or (k is IdentifierKind.EMAIL and HitKind.REPORT in wanted)]
        found = _by_identifier(session, query, compared, wanted, hidden)
        if compared:
            record(
                session, actor=actor, verb="search.identifier_compared", object_type="staff", object_id=who.id,
                after={"kinds": [k.value for k in compared], "results": len(found)},
            )
        refs += found
    text_refs, more = _by_text(session, query, wanted, hidden, page)
    seen: set[tuple[HitKind, int]] = set()
    unique = [r for r in [*refs, *text_refs] if (r[0], r[1]) not in seen and not seen.add((r[0], r[1]))]  # type: ignore[func-returns-value]
    return SearchPage(query, page, _hits(session, unique), page + 1 if more else None, [k.value for k in compared])


def _by_id(session: Session, query: str, wanted: tuple[HitKind, ...], unseen: set[int], hidden: set[int]) -> list[Ref]:
    """What the number names, of what `who` may see: cases outside the `unseen` queues, and
    subjects, reports and moderation cases not hidden by a case in the `hidden` ones."""
    n = whole_number(query.removeprefix("#"))
    if n is None or n < 1:
        return []
    refs: list[Ref] = []
    legal_or_visible = Case.kind.in_(LEGAL_KINDS) | unhidden_subject(Case.subject_id, hidden)  # as `visible_case`
    if HitKind.CASE in wanted and session.execute(select(Case.id).where(Case.id == n, Case.queue_id.not_in(unseen), legal_or_visible)).first():
        refs.append((HitKind.CASE, n, "case id"))
    if HitKind.REPORT in wanted and session.execute(select(Report.id).where(Report.id == n, unhidden_subject(Report.subject_id, hidden))).first():
        refs.append((HitKind.REPORT, n, "report id"))
    if HitKind.SUBJECT in wanted and session.execute(select(Subject.id).where(Subject.id == n, unhidden_subject(Subject.id, hidden))).first():
        refs.append((HitKind.SUBJECT, n, "subject id"))
    return refs


def _by_external_id(session: Session, query: str, wanted: tuple[HitKind, ...], hidden: set[int]) -> list[Ref]:
    if any(c.isspace() for c in query):
        return []
    # Looked up app by app, so each uses the (app, external id) unique index.
    apps = list(session.execute(select(App.id)).scalars())
    refs: list[Ref] = []
    if HitKind.SUBJECT in wanted:
        refs += [(HitKind.SUBJECT, i, "subject external id") for i in session.execute(
            select(Subject.id).where(Subject.app_id.in_(apps), Subject.external_id == query, unhidden_subject(Subject.id, hidden))
            .order_by(Subject.id).limit(_EXACT_LIMIT)).scalars()]
    if HitKind.REPORT in wanted:
        refs += [(HitKind.REPORT, i, "report external id") for i in session.execute(
            select(Report.id).where(Report.app_id.in_(apps), Report.external_id == query, unhidden_subject(Report.subject_id, hidden))
            .order_by(Report.id).limit(_EXACT_LIMIT)).scalars()]
    return refs


def _by_identifier(
    session: Session, query: str, kinds: list[IdentifierKind], wanted: tuple[HitKind, ...], hidden: set[int]
) -> list[Ref]:
    digests = {(k.value, d): k for k in kinds if (d := digest_of(k, query))}
    if not digests:
        return []
    carriers = session.execute(
        select(IdentifierDigest.kind, IdentifierDigest.object_type, IdentifierDigest.object_id)
        .where(tuple_(IdentifierDigest.kind, IdentifierDigest.digest).in_(list(digests)))
        .order_by(IdentifierDigest.object_type, IdentifierDigest.object_id.desc()).limit(4 * _EXACT_LIMIT)
    ).all()
    how = {(row.object_type, row.object_id): row.kind for row in carriers}
    subject_ids = [i for t, i in how if t == HitKind.SUBJECT] if HitKind.SUBJECT in wanted else []
    report_ids = [i for t, i in how if t == HitKind.REPORT] if HitKind.REPORT in wanted else []
    visible_subjects = set(session.execute(
        select(Subject.id).where(Subject.id.in_(subject_ids), unhidden_subject(Subject.id, hidden))).scalars()) if subject_ids else set()
    visible_reports = set(session.execute(
        select(Report.id).where(Report.id.in_(report_ids), unhidden_subject(Report.subject_id, hidden))).scalars()) if report_ids else set()
    return [(HitKind(t), i, kind) for (t, i), kind in how.items()
            if (t == HitKind.SUBJECT and i in visible_subjects) or (t == HitKind.REPORT and i in visible_reports)][:_EXACT_LIMIT]


def _by_text(session: Session, query: str, wanted: tuple[HitKind, ...], hidden: set[int], page: int) -> tuple[list[Ref], bool]:
    """A page of reports and subjects whose text holds every word, newest first; and whether more follow."""
    words = full_text.words(query)
    parts = []
    if words and HitKind.REPORT in wanted:
        parts.append(select(literal_column("'report'").label("kind"), Report.id.label("id"), Report.received_at.label("at"))
                     .where(full_text.matches(session, Report, words), unhidden_subject(Report.subject_id, hidden)))
    if words and HitKind.SUBJECT in wanted:
        parts.append(select(literal_column("'subject'").label("kind"), Subject.id.label("id"), Subject.received_at.label("at"))
                     .where(full_text.matches(session, Subject, words), unhidden_subject(Subject.id, hidden)))
    if not parts:
        return [], False
    found = union_all(*parts).subquery()
    rows = session.execute(
        select(found.c.kind, found.c.id).order_by(found.c.at.desc(), found.c.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return [(HitKind(r.kind), r.id, "text") for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def _excerpt(*texts: str | None) -> str:
    joined = " · ".join(t.strip() for t in texts if t and t.strip())
    return joined if len(joined) <= _EXCERPT else joined[: _EXCERPT - 1] + "…"


def _hits(session: Session, refs: list[Ref]) -> list[Hit]:
    """Each reference as a hit with what a person needs to recognise it, in the given order."""
    ids = {k: [i for kind, i, _ in refs if kind is k] for k in HitKind}
    cases = {c.id: (c, q) for c, q in session.execute(select(Case, Queue.name).join(Queue, Queue.id == Case.queue_id).where(Case.id.in_(ids[HitKind.CASE])))}
    reports = {r.id: r for r in session.execute(select(Report).where(Report.id.in_(ids[HitKind.REPORT]))).scalars()}
    subject_ids: Iterable[int] = {*ids[HitKind.SUBJECT], *(c.subject_id for c, _ in cases.values()), *(r.subject_id for r in reports.values())}
    subjects = {s.id: s for s in session.execute(select(Subject).where(Subject.id.in_(list(subject_ids)))).scalars()}
    apps: dict[int, str] = {row.id: row.slug for row in session.execute(select(App.id, App.slug))}
    hits: list[Hit] = []
    for kind, i, how in refs:
        if kind is HitKind.CASE:
            case, queue = cases[i]
            about = subjects[case.subject_id]
            hits.append(Hit(kind, i, how, f"Case {i}", f"{case.policy_code} · {case.status} · {queue} · {about.kind} {about.external_id}",
                            apps[case.app_id], case.subject_id, i, case.created_at))
        elif kind is HitKind.REPORT:
            report = reports[i]
            about = subjects[report.subject_id]
            summary = f"{report.policy_code} · {report.status} · on {about.kind} {about.external_id}"
            hits.append(Hit(kind, i, how, f"Report {report.external_id}", _excerpt(summary, report.text),
                            apps[report.app_id], report.subject_id, report.case_id, report.received_at))
        else:
            subject = subjects[i]
            hits.append(Hit(kind, i, how, f"{subject.kind.capitalize()} {subject.external_id}",
                            _excerpt(subject.visibility, subject.title, subject.text), apps[subject.app_id], i, None, subject.received_at))
    return hits
