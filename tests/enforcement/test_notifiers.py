"""Reporter trust and the DSA Art. 23(2) ladder: warn, deprioritise, suspend, reinstate."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from tests.enforcement.conftest import World
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.domain.errors import Conflict
from trustdesk.domain.priority import NotifierStanding
from trustdesk.enforcement.notifiers import (
    MEASURE_ACTOR,
    Measure,
    next_measure,
    notifier_key,
    record_outcome,
    reinstate,
    standing,
)
from trustdesk.store.models import AuditEvent, NotifierRecord, Report

REVIEWER = Actor("staff", "alice")
EMAIL = "flagger@example.org"


def _notice(app_id: int = 1, *, reporter_type: str = "user", email: str | None = EMAIL, reporter: int | None = None) -> Report:
    return Report(app_id=app_id, reporter_type=reporter_type, notifier_email=email, reporter_subject_id=reporter)


def test_notifier_key() -> None:
    assert notifier_key(_notice()) == personal_data.notifier_ref(EMAIL)
    assert notifier_key(_notice(reporter_type="trusted_flagger", email=" Flagger@Example.org")) == personal_data.notifier_ref(EMAIL)
    assert notifier_key(_notice(email=None, reporter=42)) == "account:42"
    assert notifier_key(_notice(reporter_type="anonymous")) is None
    assert notifier_key(_notice(reporter_type="automated", email=None)) is None


@pytest.mark.parametrize(
    ("founded", "unfounded", "stage", "since", "expected"),
    [
        (1, 8, Measure.NONE, 0, Measure.NONE),  # only nine judged
        (2, 8, Measure.NONE, 0, Measure.WARNED),  # ten judged, 80 % unfounded
        (3, 8, Measure.NONE, 0, Measure.NONE),  # 73 % unfounded
        (2, 12, Measure.WARNED, 4, Measure.NONE),  # not yet five more since the warning
        (2, 13, Measure.WARNED, 5, Measure.DEPRIORITISED),
        (2, 18, Measure.DEPRIORITISED, 5, Measure.SUSPENDED),
        (2, 23, Measure.SUSPENDED, 5, Measure.SUSPENDED),  # carried on after the suspension
        (10, 30, Measure.WARNED, 20, Measure.NONE),  # 75 %: no longer manifestly unfounded
    ],
)
def test_next_measure(founded: int, unfounded: int, stage: Measure, since: int, expected: Measure) -> None:
    assert next_measure(founded, unfounded, stage, since) is expected


def _judge(world: World, founded: bool, n: int = 1) -> dict[str, Measure]:
    with world.db.session() as s:
        return record_outcome(s, REVIEWER, [_notice(world.app_id)] * n, founded)


def _record(world: World, key: str) -> NotifierRecord:
    with world.db.reader() as s:
        return s.get_one(NotifierRecord, key)


def test_unfounded_notices_lead_to_warning_then_deprioritising_then_suspension(world: World) -> None:
    key = personal_data.notifier_ref(EMAIL)
    measures = [_judge(world, False) for _ in range(10)]
    assert measures[:9] == [{}] * 9 and measures[9] == {key: Measure.WARNED}
    assert _record(world, key).warned_at is not None
    with world.db.reader() as s:
        assert standing(s, [key])[key] == NotifierStanding(founded=0, unfounded=10, deprioritised=False)

    assert _judge(world, True) == {}  # 10 of 11 still unfounded, but nothing new since the warning
    assert [_judge(world, False) for _ in range(5)] == [{}] * 4 + [{key: Measure.DEPRIORITISED}]
    with world.db.reader() as s:
        assert standing(s, [key])[key] == NotifierStanding(founded=1, unfounded=15, deprioritised=True, suspended=False)

    assert [_judge(world, False) for _ in range(5)] == [{}] * 4 + [{key: Measure.SUSPENDED}]
    with world.db.reader() as s:
        assert standing(s, [key])[key] == NotifierStanding(founded=1, unfounded=20, deprioritised=True, suspended=True)

    with world.db.session() as s:
        reinstate(s, Actor("staff", "senior"), key)
    row = _record(world, key)
    assert (row.warned_at, row.deprioritised_until, row.suspended_until) == (None, None, None)
    assert (row.founded, row.unfounded) == (1, 20)  # the record of judgements stays
    with world.db.reader() as s:
        assert standing(s, [key])[key] == NotifierStanding(founded=1, unfounded=20)
    with pytest.raises(Conflict), world.db.session() as s:
        reinstate(s, REVIEWER, key)

    assert _judge(world, False) == {key: Measure.WARNED}  # carrying on starts again from a warning
    with world.db.reader() as s:
        events = s.execute(
            select(AuditEvent.verb, AuditEvent.actor_id).where(AuditEvent.object_type == "notifier", AuditEvent.verb != "notifier.judged").order_by(AuditEvent.id)
        ).all()
        assert verify_chain(s).ok
    assert [tuple(e) for e in events] == [
        ("notifier.warned", MEASURE_ACTOR.id), ("notifier.deprioritised", MEASURE_ACTOR.id),
        ("notifier.suspended", MEASURE_ACTOR.id), ("notifier.reinstated", "senior"), ("notifier.warned", MEASURE_ACTOR.id),
    ]


def test_a_warning_in_the_same_transaction_is_not_skipped_past(world: World) -> None:
    """Ten unfounded notices judged in one bulk chunk warn once; the next step needs five more."""
    key = personal_data.notifier_ref(EMAIL)
    with world.db.session() as s:
        assert record_outcome(s, REVIEWER, [_notice(world.app_id)] * 10, False) == {key: Measure.WARNED}
        assert record_outcome(s, REVIEWER, [_notice(world.app_id)] * 4, False) == {}
        assert record_outcome(s, REVIEWER, [_notice(world.app_id)], False) == {key: Measure.DEPRIORITISED}


def test_mostly_founded_notifiers_are_never_warned(world: World) -> None:
    _judge(world, True, 30)
    assert _judge(world, False, 7) == {}
    row = _record(world, personal_data.notifier_ref(EMAIL))
    assert (row.founded, row.unfounded, row.warned_at) == (30, 7, None)


def test_standing_reads_a_batch_of_keys_in_one_query(world: World) -> None:
    with world.db.session() as s:
        record_outcome(s, REVIEWER, [_notice(world.app_id, email=None, reporter=7)] * 3, True)
        record_outcome(s, REVIEWER, [_notice(world.app_id, email=None, reporter=8)], False)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(world.db.read_engine, "before_cursor_execute", count)
    try:
        with world.db.reader() as s:
            result = standing(s, ["account:7", "account:8", "account:9"])
    finally:
        event.remove(world.db.read_engine, "before_cursor_execute", count)
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 1
    assert result == {
        "account:7": NotifierStanding(founded=3, unfounded=0),
        "account:8": NotifierStanding(founded=0, unfounded=1),
        "account:9": NotifierStanding(),
    }
