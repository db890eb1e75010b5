"""The queue view's service: filters, orders and keyset pages that cover the queue exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from tests.cases import factories
from trustdesk.cases import claiming, listing
from trustdesk.cases.listing import Age, QueueFilter, QueueSort
from trustdesk.config import Settings
from trustdesk.domain.errors import FieldError, Forbidden
from trustdesk.domain.priority import Band
from trustdesk.domain.vocabulary import ReporterType
from trustdesk.store.database import Database
from trustdesk.store.models import Case, Report, Subject, as_utc, utcnow


def _world(db: Database, settings: Settings, count: int = 23) -> tuple[int, list[int], factories.Reviewer]:
    """`count` open cases in one queue, varied in every way the view filters on."""
    now = utcnow()
    with db.session() as s:
        q = factories.queue(s)
        ids = factories.open_cases(s, q.id, count)
        for i, case_id in enumerate(ids):
            s.execute(update(Case).where(Case.id == case_id).values(
                policy_code=("SPAM", "SCAM", "HARASSMENT")[i % 3], band=("P0", "P1", "P2", "P3")[i % 4],
                priority_score=float(i % 5), report_count=1 + i % 4,
                created_at=now - timedelta(minutes=20 + 97 * i), due_at=now + timedelta(minutes=300 - 29 * i),
            ))
            subject_id = s.get_one(Case, case_id).subject_id
            s.execute(update(Subject).where(Subject.id == subject_id).values(language=("en", "es", "pt")[i % 3]))
            s.execute(insert(Report).values(
                app_id=s.get_one(Case, case_id).app_id, external_id=f"r{i}", subject_id=subject_id, case_id=case_id,
                policy_code="SPAM", reporter_type=("user", "trusted_flagger")[i % 2], body_hash="x",
            ))
        s.execute(update(Case).where(Case.id == ids[-1]).values(status="decided"))
        reader = factories.reviewer(s, settings, "reader", ["moderator"])
    return q.id, ids[:-1], reader


def _all_pages(db: Database, reader: factories.Reviewer, queue_id: int, sort: QueueSort, filters: QueueFilter = QueueFilter(),
               limit: int = 4) -> tuple[list[int], list[str]]:
    """Walk forward page by page; returns the case ids in order and the cursors of each page's end."""
    seen, cursors, after = [], [], None
    with db.reader() as s:
        while True:
            page = listing.queue_cases(s, reader, queue_id, filters=filters, sort=sort, after=after, limit=limit)
            seen += [e.case.id for e in page.entries]
            if page.next is None:
                return seen, cursors
            cursors.append(page.next)
            after = page.next


def _expected(db: Database, ids: list[int], key: object) -> list[int]:
    with db.reader() as s:
        cases = [s.get_one(Case, i) for i in ids]
    return [c.id for c in sorted(cases, key=key)]  # type: ignore[arg-type]


@pytest.mark.parametrize("sort", list(QueueSort))
def test_keyset_pages_cover_the_queue_once_in_each_order(db: Database, settings: Settings, sort: QueueSort) -> None:
    queue_id, ids, reader = _world(db, settings)
    keys = {
        QueueSort.PRIORITY: lambda c: (-c.priority_score, as_utc(c.due_at), c.id),
        QueueSort.DUE: lambda c: (as_utc(c.due_at), c.id),
        QueueSort.OLDEST: lambda c: (as_utc(c.created_at), c.id),
        QueueSort.NEWEST: lambda c: (-as_utc(c.created_at).timestamp(), -c.id),
        QueueSort.REPORTS: lambda c: (-c.report_count, -c.priority_score, c.id),
    }
    seen, cursors = _all_pages(db, reader, queue_id, sort)
    assert seen == _expected(db, ids, keys[sort])
    # Paging back from the last page's start returns the pages before it, in order.
    with db.reader() as s:
        last = listing.queue_cases(s, reader, queue_id, sort=sort, after=cursors[-1], limit=4)
        back = listing.queue_cases(s, reader, queue_id, sort=sort, before=last.previous, limit=4)
        first = listing.queue_cases(s, reader, queue_id, sort=sort, limit=4)
    assert [e.case.id for e in back.entries] == seen[len(seen) - len(last.entries) - 4: len(seen) - len(last.entries)]
    assert first.previous is None and back.next is not None and last.next is None


def test_a_page_position_survives_cases_leaving_the_queue(db: Database, settings: Settings) -> None:
    queue_id, ids, reader = _world(db, settings)
    with db.reader() as s:
        page = listing.queue_cases(s, reader, queue_id, sort=QueueSort.DUE, limit=5)
    with db.session() as s:  # the first page is decided meanwhile: the second page is still the second
        s.execute(update(Case).where(Case.id.in_([e.case.id for e in page.entries])).values(status="decided"))
    with db.reader() as s:
        following = listing.queue_cases(s, reader, queue_id, sort=QueueSort.DUE, after=page.next, limit=5)
    assert [e.case.id for e in following.entries] == _expected(db, ids, lambda c: (as_utc(c.due_at), c.id))[5:10]


def test_each_filter_narrows_the_queue(db: Database, settings: Settings) -> None:
    queue_id, ids, reader = _world(db, settings)
    now = utcnow()
    with db.reader() as s:
        cases = {i: s.get_one(Case, i) for i in ids}
        subjects = {i: s.get_one(Subject, cases[i].subject_id) for i in ids}
        reporters = dict(s.execute(select(Report.case_id, Report.reporter_type)).all())
    opened = {i: now - as_utc(c.created_at) for i, c in cases.items()}
    checks = [
        (QueueFilter(policy_code="SCAM"), lambda i: cases[i].policy_code == "SCAM"),
        (QueueFilter(language="pt"), lambda i: subjects[i].language == "pt"),
        (QueueFilter(band=Band.P1), lambda i: cases[i].band == "P1"),
        (QueueFilter(age=Age.UNDER_1H), lambda i: opened[i] < timedelta(hours=1)),
        (QueueFilter(age=Age.FROM_1H_TO_4H), lambda i: timedelta(hours=1) <= opened[i] < timedelta(hours=4)),
        (QueueFilter(age=Age.FROM_4H_TO_1D), lambda i: timedelta(hours=4) <= opened[i] < timedelta(days=1)),
        (QueueFilter(age=Age.OVER_1D), lambda i: opened[i] >= timedelta(days=1)),
        (QueueFilter(breached=True), lambda i: as_utc(cases[i].due_at) < now),
        (QueueFilter(breached=False), lambda i: as_utc(cases[i].due_at) >= now),
        (QueueFilter(reporter_type=ReporterType.TRUSTED_FLAGGER), lambda i: reporters[i] == "trusted_flagger"),
        (QueueFilter(policy_code="SPAM", breached=True, language="en"),
         lambda i: cases[i].policy_code == "SPAM" and as_utc(cases[i].due_at) < now and subjects[i].language == "en"),
    ]
    for filters, wanted in checks:
        found, _cursors = _all_pages(db, reader, queue_id, QueueSort.PRIORITY, filters, limit=50)
        expected = {i for i in ids if wanted(i)}
        assert expected and expected != set(ids), filters  # each check really narrows
        assert set(found) == expected, filters


def test_cursors_and_filter_text_are_checked_like_any_client_input(db: Database, settings: Settings) -> None:
    queue_id, _ids, reader = _world(db, settings)
    with db.reader() as s:
        due_cursor = listing.queue_cases(s, reader, queue_id, sort=QueueSort.DUE, limit=3).next
        for bad in ("", "!!!", "W10", "WyJkdWUiLDEsMl0", "eyJhIjogMX0", due_cursor + "x", "A" * 2000):
            with pytest.raises(FieldError) as refused:
                listing.queue_cases(s, reader, queue_id, sort=QueueSort.DUE, after=bad or "=", limit=3)
            assert (refused.value.field, refused.value.status) == ("after", 422)
        for field, value in (("policy_code", "SPAM\x00"), ("language", "x" * 65)):  # never sent on to the database
            with pytest.raises(FieldError) as unmatchable:
                listing.queue_cases(s, reader, queue_id, filters=QueueFilter(**{field: value}))
            assert unmatchable.value.field == field
        with pytest.raises(FieldError) as other_order:  # a cursor of another order is no position in this one
            listing.queue_cases(s, reader, queue_id, sort=QueueSort.OLDEST, before=due_cursor, limit=3)
        assert other_order.value.field == "before"


def test_the_reader_sees_which_cases_they_skipped_and_restricted_queues_stay_closed(db: Database, settings: Settings) -> None:
    queue_id, ids, reader = _world(db, settings)
    with db.session() as s:
        claiming.skip(s, reader.id, [ids[0]], utcnow() + timedelta(minutes=30))
        cs = factories.queue(s, "Child safety", routing_expression="policy.code == 'CSAM'", required_roles=["child-safety"])
    with db.reader() as s:
        entries = listing.queue_cases(s, reader, queue_id, limit=50).entries
        assert [e.case.id for e in entries if e.skipped_until] == [ids[0]]
        with pytest.raises(Forbidden):
            listing.queue_cases(s, reader, cs.id)
        assert listing.queue_languages(s, queue_id) == ["en", "es", "pt"]
