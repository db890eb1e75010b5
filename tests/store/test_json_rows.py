"""Rows inserted from one JSON array (`insert_from_json` with `json_rows`) are stored exactly as
the ORM stores them: times in each database's own form, JSON columns, NULLs and defaults."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.ingest.intake import Submitter, create_subjects
from trustdesk.ingest.schemas import SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.store.database import Database
from trustdesk.store.models import Subject

ACTOR = Actor("system", "test")
CREATED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
_RAW = text("SELECT external_id, created_at, received_at, title, reach, attributes, visibility, erased_at FROM subjects ORDER BY external_id")


def test_intake_rows_are_stored_as_the_orm_stores_them(db: Database) -> None:
    with db.session() as session:
        app = ensure_app(session, ACTOR, "market", "Market")
        who = Submitter(app.id, ACTOR)
        create_subjects(session, who, [
            SubjectIn(external_id="by-json", kind="message", text="hello", created_at=CREATED, reach={"followers": 12},
                      attributes={"score": 0.30000000000000004, "tags": ["a", "é"]}),
            SubjectIn(external_id="by-json-bare", kind="message", text="no optional fields"),
        ])
        received = session.execute(select(Subject.received_at).where(Subject.external_id == "by-json")).scalar_one()
        session.add(Subject(app_id=app.id, external_id="by-orm", kind="message", text="hello", body_hash="0" * 64, created_at=CREATED,
                            received_at=received, updated_at=received, reach={"followers": 12},
                            attributes={"score": 0.30000000000000004, "tags": ["a", "é"]}))
    with db.reader() as session:
        raw = {row.external_id: row for row in session.execute(_RAW)}
        by_json, by_orm, bare = raw["by-json"], raw["by-orm"], raw["by-json-bare"]
        assert by_json.created_at == by_orm.created_at  # on SQLite: the same text
        assert by_json.received_at == by_orm.received_at
        assert by_json.reach == by_orm.reach and by_json.attributes == by_orm.attributes
        assert by_json.visibility == "visible" and by_json.title is None and by_json.erased_at is None
        assert bare.created_at is None and bare.attributes in ({}, "{}")
        stored = session.execute(select(Subject).where(Subject.external_id == "by-json")).scalar_one()
        assert stored.created_at == CREATED
        assert stored.attributes == {"score": 0.30000000000000004, "tags": ["a", "é"]}
        assert verify_chain(session).ok  # the audit events, also inserted from one JSON array, hash as stored


def test_values_equal_in_python_but_not_in_json_are_kept_apart(db: Database) -> None:
    """A value the same in every row is bound once, but 1, 1.0 and True are equal in Python."""
    attributes = [{"n": 1}, {"n": 1.0}, {"n": True}, {"n": 1}]
    with db.session() as session:
        app = ensure_app(session, ACTOR, "market", "Market")
        create_subjects(session, Submitter(app.id, ACTOR), [
            SubjectIn(external_id=f"s{n}", kind="message", text="same text", attributes=given) for n, given in enumerate(attributes)
        ])
        create_subjects(session, Submitter(app.id, ACTOR), [  # one batch in which every row has the same attributes
            SubjectIn(external_id=f"t{n}", kind="message", text="same text", attributes={"n": 1.0}) for n in range(3)
        ])
    with db.reader() as session:
        stored = dict(session.execute(select(Subject.external_id, Subject.attributes)).all())
        for n, given in enumerate(attributes):
            assert type(stored[f"s{n}"]["n"]) is type(given["n"]) and stored[f"s{n}"] == given
        assert [type(stored[f"t{n}"]["n"]) for n in range(3)] == [float] * 3
        assert verify_chain(session).ok
