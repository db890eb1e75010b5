"""Names the domain needs unique are decided by the database's constraint, not by a look first.

Each test runs on both databases: on SQLite writers take turns, so it shows the refusal; on
PostgreSQL the callers really race, where these failed with IntegrityError (a 500 through the
API) before. Refusals name their field and leave the first row as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.cases.access import Reviewer
from trustdesk.cases.queues import QueueError, QueueSpec, save_queue, tier_queue
from trustdesk.cases.wellness import step_out, stepped_out
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.hash_banks import BankSpec
from trustdesk.domain.replies import LocaleText
from trustdesk.domain.vocabulary import CaseTier
from trustdesk.hash_banks.banks import create_bank, update_bank
from trustdesk.organisation import ensure_app
from trustdesk.replies.templates import TemplateSpec, save_template
from trustdesk.store.database import Database
from trustdesk.store.models import App, AuditEvent, HashBank, Queue, ReplyTemplate, StaffUser
from trustdesk.store.unique_names import is_unique_violation

ADMIN = Actor("staff", "admin")
N = 8


def _at_once(db: Database, write: Callable[[Any], object]) -> tuple[list[object], list[FieldError]]:
    """`write(session)` in N transactions at the same moment: what they returned, and their refusals."""
    done: list[object] = []
    refused: list[FieldError] = []

    def one() -> None:
        try:
            with db.session() as s:
                done.append(write(s))
        except FieldError as exc:
            refused.append(exc)

    together([one for _ in range(N)])
    return done, refused


def _count(db: Database, column: Any, *where: Any) -> int:
    with db.reader() as s:
        return s.execute(select(func.count(column)).where(*where)).scalar_one()


def _template(name: str) -> TemplateSpec:
    return TemplateSpec(name, "email", texts=[LocaleText("en", "About your case", "Case {{ case_id }}")])


def test_a_template_name_taken_at_once_is_one_template_and_named_conflicts(db: Database) -> None:
    done, refused = _at_once(db, lambda s: save_template(s, ADMIN, _template("Welcome")).id)
    assert len(done) == 1 and len(refused) == N - 1
    assert {(exc.status, exc.field) for exc in refused} == {(409, "name")}
    assert _count(db, ReplyTemplate.id, ReplyTemplate.name == "Welcome") == 1
    assert _count(db, AuditEvent.id, AuditEvent.verb == "reply_template.created") == 1


def test_renaming_a_template_to_a_taken_name_is_refused_and_changes_nothing(db: Database) -> None:
    with db.session() as s:
        save_template(s, ADMIN, _template("Welcome"))
        other = save_template(s, ADMIN, _template("Goodbye")).id
    with pytest.raises(Conflict) as refused, db.session() as s:
        save_template(s, ADMIN, _template("Welcome"), other)
    assert refused.value.field == "name"
    with db.reader() as s:
        assert s.get_one(ReplyTemplate, other).name == "Goodbye"


def test_a_queue_name_taken_at_once_is_one_queue_and_refused_by_name(db: Database) -> None:
    done, refused = _at_once(db, lambda s: save_queue(s, ADMIN, QueueSpec("Romance scams", "false")).id)
    assert len(done) == 1 and len(refused) == N - 1
    assert all(isinstance(exc, QueueError) and exc.field == "name" for exc in refused)
    assert _count(db, Queue.id, Queue.name == "Romance scams") == 1


def test_renaming_a_queue_to_a_taken_name_is_refused_by_name(db: Database) -> None:
    with db.session() as s:
        save_queue(s, ADMIN, QueueSpec("Romance scams", "false"))
        other = save_queue(s, ADMIN, QueueSpec("Crypto", "false")).id
    with pytest.raises(QueueError, match="a queue named 'Romance scams' exists") as refused, db.session() as s:
        save_queue(s, ADMIN, QueueSpec("Romance scams", "false"), other)
    assert refused.value.field == "name"


def test_a_tier_queue_needed_at_once_is_made_once(db: Database) -> None:
    done, refused = _at_once(db, lambda s: tier_queue(s, ADMIN, CaseTier.SENIOR).id)
    assert not refused and len(set(done)) == 1
    assert _count(db, Queue.id, Queue.tier == CaseTier.SENIOR.value) == 1
    assert _count(db, AuditEvent.id, AuditEvent.verb == "queue.saved") == 1


def test_a_tier_queue_whose_name_another_queue_took_is_refused_by_tier(db: Database) -> None:
    with db.session() as s:
        save_queue(s, ADMIN, QueueSpec("Senior tier", "false"))
    with pytest.raises(Conflict, match="a queue named 'Senior tier' exists") as refused, db.session() as s:
        tier_queue(s, ADMIN, CaseTier.SENIOR)
    assert refused.value.field == "tier"
    assert _count(db, Queue.id, Queue.tier.is_not(None)) == 0


def test_a_hash_bank_name_taken_at_once_is_one_bank_and_named_conflicts(db: Database) -> None:
    done, refused = _at_once(db, lambda s: create_bank(s, ADMIN, BankSpec("known scams", "scam")).id)
    assert len(done) == 1 and {(exc.status, exc.field) for exc in refused} == {(409, "name")} and len(refused) == N - 1
    assert _count(db, HashBank.id) == 1


def test_renaming_a_hash_bank_to_a_taken_name_is_refused_and_changes_nothing(db: Database) -> None:
    with db.session() as s:
        create_bank(s, ADMIN, BankSpec("known scams", "scam"))
        other = create_bank(s, ADMIN, BankSpec("terror", "terror")).id
    with pytest.raises(Conflict) as refused, db.session() as s:
        update_bank(s, ADMIN, s.get_one(HashBank, other), BankSpec("known scams", "terror"), active=True)
    assert refused.value.field == "name"
    with db.reader() as s:
        assert s.get_one(HashBank, other).name == "terror"


def test_an_app_ensured_at_once_is_created_and_audited_once(db: Database) -> None:
    done, refused = _at_once(db, lambda s: ensure_app(s, ADMIN, "market", "Market").id)
    assert not refused and len(set(done)) == 1
    assert _count(db, App.id, App.slug == "market") == 1
    assert _count(db, AuditEvent.id, AuditEvent.verb == "app.created") == 1


def test_stepping_out_of_a_graphic_queue_twice_at_once_is_stepping_out_once(db: Database) -> None:
    with db.session() as s:
        graphic = save_queue(s, ADMIN, QueueSpec("Graphic", "false", graphic=True)).id
        member = StaffUser(username="mo", display_name="Mo", password_hash="-", roles=["moderator"], skills={})
        s.add(member)
        s.flush()
        member_id = member.id
    done, refused = _at_once(db, lambda s: step_out(s, Reviewer(member_id, ("moderator",)), graphic))
    assert len(done) == N and not refused
    with db.reader() as s:
        assert stepped_out(s, member_id) == {graphic}


def test_only_a_broken_uniqueness_is_taken_for_a_taken_name(db: Database) -> None:
    """A missing reference is a fault to report, not a name somebody else took."""
    with pytest.raises(IntegrityError) as broken, db.session() as s:
        s.add(Queue(name="Orphan", escalation_queue_id=999_999, sla_minutes={}, required_roles=[], required_languages=[]))
        s.flush()
    assert not is_unique_violation(broken.value)
    with pytest.raises(IntegrityError) as taken, db.session() as s:
        s.add_all([App(slug="same", name="One"), App(slug="same", name="Two")])
        s.flush()
    assert is_unique_violation(taken.value)


def test_a_taken_template_name_is_a_409_naming_the_field_through_the_api(api: Api) -> None:
    with api.db.session() as s:
        admin = StaffUser(username="root", display_name="Root", password_hash="-", roles=["admin"], skills={})
        s.add(admin)
        s.flush()
        admin_id = admin.id
    auth = api.staff_token(admin_id)
    body = {"name": "Raced", "channel": "social", "texts": [{"locale": "en", "body": "Case {{ case_id }}"}]}
    answers: list[Any] = [None] * N

    def send(n: int) -> None:
        answers[n] = api.client.post("/api/v1/reply-templates", json=body, headers=auth)

    together([lambda n=n: send(n) for n in range(N)])
    assert sorted(a.status_code for a in answers) == [201] + [409] * (N - 1), [a.text for a in answers if a.status_code >= 500]
    assert {a.json()["field"] for a in answers if a.status_code == 409} == {"name"}


def test_queues_made_the_default_at_once_leave_one_default(db: Database) -> None:
    with db.session() as s:
        ids = [save_queue(s, ADMIN, QueueSpec(f"Queue {n}", "false", is_default=n == 0)).id for n in range(N)]
    done: list[object] = []

    def make_default(queue_id: int) -> None:
        with db.session() as s:
            queue = s.get_one(Queue, queue_id)  # loaded before the save, as the console and the API do
            done.append(save_queue(s, ADMIN, QueueSpec(queue.name, "false", is_default=True), queue_id).id)

    together([lambda queue_id=queue_id: make_default(queue_id) for queue_id in reversed(ids)])
    assert sorted(done) == sorted(ids)
    with db.reader() as s:
        assert len(s.execute(select(Queue.id).where(Queue.is_default.is_(True))).all()) == 1


def test_the_database_refuses_a_second_active_default_queue(db: Database) -> None:
    with db.session() as s:
        save_queue(s, ADMIN, QueueSpec("General", None, is_default=True))
        s.add(Queue(name="Asleep", is_default=True, active=False, sla_minutes={}, required_roles=[], required_languages=[]))
    with pytest.raises(IntegrityError) as refused, db.session() as s:
        s.add(Queue(name="Second", is_default=True, sla_minutes={}, required_roles=[], required_languages=[]))
    assert is_unique_violation(refused.value)
