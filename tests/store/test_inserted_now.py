"""`insert_now` writes a row past the unit of work and leaves the object as a flushed one would
be: persistent, with what the database stored, and read with no query. A savepoint or transaction
rolled back takes its objects out of the session, as the unit of work does with new objects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.ingest.intake import Submitter, create_subjects
from trustdesk.ingest.schemas import SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.store.database import Database
from trustdesk.store.inserted_now import insert_now
from trustdesk.store.models import Notice, utcnow

ACTOR = Actor("system", "test")


def _notice(app_id: int, subject_id: int, body: str) -> Notice:
    return Notice(app_id=app_id, kind="decision", recipient_role="user", subject_id=subject_id, locale="en", channel="webhook",
                  subject_line="About your post", body=body, created_by=ACTOR.label, created_at=utcnow())


def _setup(session: Session) -> tuple[int, int]:
    app = ensure_app(session, ACTOR, "market", "Market")
    receipt = create_subjects(session, Submitter(app.id, ACTOR), [SubjectIn(external_id="p1", kind="post", text="hi")])[0]
    return app.id, receipt.id


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_the_object_is_persistent_with_what_the_database_stored(db: Database) -> None:
    with db.session() as session:
        app_id, subject_id = _setup(session)
        notice = insert_now(session, _notice(app_id, subject_id, "first"))
        assert inspect(notice).persistent and notice.id is not None
        with _statements(db) as seen:
            assert (notice.state, notice.attempts, notice.error, notice.body) == ("pending", 0, None, "first")
            assert session.get(Notice, notice.id) is notice
        assert seen == []  # every column came back with the INSERT: nothing is loaded again
        notice.state = "sent"  # a change after it is written is flushed as for any persistent object
    with db.reader() as session:
        stored = session.execute(select(Notice)).scalar_one()
        assert (stored.id, stored.state, stored.body) == (notice.id, "sent", "first")


def test_a_savepoint_rolled_back_takes_its_objects_out_of_the_session(db: Database) -> None:
    with db.session() as session:
        app_id, subject_id = _setup(session)
        kept = insert_now(session, _notice(app_id, subject_id, "kept"))
        with pytest.raises(RuntimeError), session.begin_nested():
            gone = insert_now(session, _notice(app_id, subject_id, "gone"))
            raise RuntimeError("the step fails after writing")
        assert gone not in session and kept in session
        again = insert_now(session, _notice(app_id, subject_id, "again"))  # SQLite may give it the id `gone` had
        assert session.get(Notice, again.id) is again
    with db.reader() as session:
        assert sorted(session.execute(select(Notice.body)).scalars()) == ["again", "kept"]


def test_a_transaction_rolled_back_takes_its_objects_out_of_the_session(db: Database) -> None:
    with db.session() as session:
        app_id, subject_id = _setup(session)
    session = db._sessions()  # one session across two transactions, as a long-lived caller would hold it
    try:
        with session.begin():
            gone = insert_now(session, _notice(app_id, subject_id, "gone"))
            session.rollback()
        assert gone not in session
        with session.begin():
            again = insert_now(session, _notice(app_id, subject_id, "again"))
            assert session.get(Notice, again.id) is again
    finally:
        session.close()
    with db.reader() as session:
        assert session.execute(select(func.count()).select_from(Notice)).scalar_one() == 1
