"""The sender against the sandbox host over real HTTP: signatures it verifies with the
`standardwebhooks` package, failures and hangs, backoff, the dead-letter list, several workers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.concurrency import together
from tests.delivery.conftest import Receiver, connect, fake_secret
from tests.enforcement.conftest import SETUP, World, account
from trustdesk.cases.access import Reviewer
from trustdesk.delivery import outbox
from trustdesk.delivery.sender import RETRY_WINDOW, deliver_due, retry_delay
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.errors import Conflict
from trustdesk.domain.policies import Action
from trustdesk.enforcement.actions import apply_action, undo_action
from trustdesk.enforcement.suspensions import lift_due
from trustdesk.store.models import AuditEvent, OutboxMessage, Subject, WebhookEndpoint, utcnow

ADMIN = Reviewer(0, ("admin",))


class Clock:
    """The outbox's idea of now, moved by hand."""

    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def _act(world: World, *steps: tuple[str, Action]) -> list[int]:
    """Apply each (external id, action) in its own transaction; returns the action ids."""
    ids = world.add_subjects(*(account(ext) for ext in sorted({ext for ext, _ in steps})))
    done = []
    for ext, kind in steps:
        with world.db.session() as s:
            done.append(apply_action(s, SETUP, s.get_one(Subject, ids[ext]), kind, params={"days": 1} if kind is Action.SUSPEND else None).action.id)
    return done


def _rows(world: World) -> list[OutboxMessage]:
    with world.db.reader() as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def _drain(world: World, box: SecretBox, clock: Clock, step: Callable[[], None], **kwargs: object) -> None:
    """Deliver, move the clock on, and again, until nothing is pending."""
    for _ in range(50):
        deliver_due(world.db, box, now=clock, **kwargs)  # type: ignore[arg-type]
        if all(r.state != "pending" for r in _rows(world)):
            return
        step()
    pytest.fail("deliveries still pending after 50 rounds")


def test_each_event_is_signed_so_the_sandbox_verifies_and_accepts_it(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    actions = _act(world, ("u1", Action.WARN), ("u2", Action.BAN), ("u1", Action.SUSPEND))
    assert deliver_due(world.db, box) == 3
    seen = receiver.events("market")
    assert (seen["accepted"], seen["refused"], seen["duplicates"], seen["stale"]) == (3, 0, 0, 0)
    rows = _rows(world)
    assert sorted((e["webhook_id"], e["type"], e["data"]["action_id"]) for e in seen["events"]) == sorted(
        (r.webhook_id, "action.applied", a) for r, a in zip(rows, actions, strict=True)
    )  # (posted a few at once: the order across subjects is not kept)
    assert [(r.state, r.attempts, r.last_status) for r in rows] == [("delivered", 1, 200)] * 3
    assert all(r.delivered_at is not None for r in rows)


def test_a_receiver_down_for_a_while_gets_every_action_exactly_once_in_order_after_it_recovers(
    world: World, box: SecretBox, receiver: Receiver
) -> None:
    connect(world, box, receiver)
    receiver.control("fail", endpoint="market", status=503, count=9)
    steps = [(f"u{n % 4}", kind) for n, kind in enumerate([Action.WARN, Action.SUSPEND, Action.BAN, Action.LABEL] * 3)]
    steps = [(ext, Action.WARN if kind is Action.LABEL else kind) for ext, kind in steps]
    _act(world, *steps)
    with world.db.session() as s:  # an undo after the ban: the reversal must not overtake it
        banned = s.execute(select(OutboxMessage.action_id).where(OutboxMessage.payload["data"]["action"].as_string() == "ban")).scalars().first()
        undo_action(s, SETUP, banned)
    clock = Clock()
    _drain(world, box, clock, lambda: clock.advance(minutes=15))
    seen = receiver.events("market")
    rows = _rows(world)
    assert seen["failed"] == 9 and seen["refused"] == 0
    assert sorted(e["webhook_id"] for e in seen["events"]) == sorted(r.webhook_id for r in rows)  # each once, none lost
    assert seen["duplicates"] == 0 and seen["stale"] == 0  # and each subject's events in order
    assert {r.state for r in rows} == {"delivered"} and sum(r.attempts for r in rows) == len(rows) + 9


def test_a_hanging_receiver_times_out_and_the_retry_is_a_duplicate_it_drops(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    _act(world, ("u1", Action.BAN))
    receiver.control("hang", endpoint="market", seconds=2)
    clock = Clock()
    deliver_due(world.db, box, now=clock, timeout=0.5)
    [row] = _rows(world)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("pending", 1, None, "no answer within 0.5 s")
    assert timedelta(seconds=4) <= row.next_attempt_at - clock() <= timedelta(seconds=6)
    receiver.control("recover", endpoint="market")
    clock.advance(seconds=6)
    deliver_due(world.db, box, now=clock, timeout=0.5)
    [row] = _rows(world)
    assert (row.state, row.attempts, row.last_status) == ("delivered", 2, 200)
    deadline = time.monotonic() + 10
    while receiver.events("market")["duplicates"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)  # the hung request is taken in when its hang ends
    seen = receiver.events("market")
    assert (seen["accepted"], seen["duplicates"]) == (1, 1)


def test_an_endpoint_url_httpx_cannot_post_to_fails_its_own_row_while_the_batch_is_delivered(
    world: World, box: SecretBox, receiver: Receiver
) -> None:
    good = connect(world, box, receiver)
    # Saved before the add-check parsed URLs as the sender does; such URLs are refused now.
    bad = {"https://xn--a.example/hook": "InvalidCodepoint", "https://\u01c5.example/hook": "InvalidURL"}
    with world.db.session() as s:
        endpoints = [WebhookEndpoint(app_id=world.app_id, url=url, secret_encrypted=box.seal(fake_secret()), active=True,
                                     created_by="test", created_at=utcnow()) for url in bad]
        s.add_all(endpoints)
        s.flush()
        errors = {endpoint.id: bad[endpoint.url] for endpoint in endpoints}
    _act(world, ("u1", Action.BAN))

    assert deliver_due(world.db, box) == 3
    rows = {r.endpoint_id: r for r in _rows(world)}
    assert (rows[good].state, rows[good].last_status) == ("delivered", 200)
    assert receiver.events("market")["accepted"] == 1
    for endpoint_id, error in errors.items():
        row = rows[endpoint_id]
        assert (row.state, row.attempts, row.last_status, row.claimed_until) == ("pending", 1, None, None)
        assert row.last_error.startswith(f"{error}: ") and row.next_attempt_at > row.created_at


def test_backoff_grows_from_seconds_to_hourly_with_jitter() -> None:
    rng = random.Random(7)
    for attempts, base in [(1, 5), (2, 30), (3, 120), (4, 600), (5, 3600), (12, 3600)]:
        delays = [retry_delay(attempts, rng).total_seconds() for _ in range(50)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays) and len(set(delays)) > 1


def test_after_a_day_of_failures_a_delivery_is_dead_then_retried_or_cancelled_from_the_list(
    world: World, box: SecretBox, receiver: Receiver
) -> None:
    connect(world, box, receiver)
    first, second = _act(world, ("u1", Action.BAN), ("u2", Action.BAN))
    receiver.control("fail", endpoint="market", status=500, seconds=3600)
    clock = Clock()
    deliver_due(world.db, box, now=clock)
    clock.advance(hours=23, minutes=59)
    deliver_due(world.db, box, now=clock)
    assert [r.state for r in _rows(world)] == ["pending", "pending"]  # within the day: retried, not dead
    assert all(r.next_attempt_at <= r.created_at + RETRY_WINDOW for r in _rows(world))
    clock.advance(minutes=2)
    deliver_due(world.db, box, now=clock)
    rows = _rows(world)
    assert [(r.state, r.attempts, r.last_status) for r in rows] == [("dead", 3, 500)] * 2
    assert rows[0].last_error.startswith("HTTP 500")
    with world.db.reader() as s:
        dead = outbox.deliveries(s, ADMIN, state="dead")
        assert [d.action_id for d in dead] == [second, first]
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.verb == "webhook_delivery.dead")).scalars().all() == ["webhook_delivery.dead"] * 2

    receiver.control("recover", endpoint="market")
    with world.db.session() as s:
        outbox.retry(s, SETUP, ADMIN, rows[0].id)
        outbox.cancel(s, SETUP, ADMIN, rows[1].id)
    with world.db.session() as s, pytest.raises(Conflict):
        outbox.retry(s, SETUP, ADMIN, rows[0].id)  # pending already
    deliver_due(world.db, box)
    assert [r.state for r in _rows(world)] == ["delivered", "cancelled"]
    assert [e["data"]["action_id"] for e in receiver.events("market")["events"]] == [first]
    with world.db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "webhook_delivery").order_by(AuditEvent.id)).scalars().all()
    assert verbs[-2:] == ["webhook_delivery.retried", "webhook_delivery.cancelled"]


def test_a_subjects_later_event_waits_for_its_earlier_one(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    _act(world, ("u2", Action.WARN))
    deliver_due(world.db, box, now=Clock())
    _act(world, ("u1", Action.SUSPEND), ("u1", Action.BAN))
    clock = Clock()
    # Posts go out a few at once, so only one of them may be claimable for the failure to hit it.
    receiver.control("fail", endpoint="market", status=503, count=1)
    deliver_due(world.db, box, now=clock)  # u1's suspension fails; u1's ban waits behind it, untried
    assert [r.state for r in _rows(world)] == ["delivered", "pending", "pending"]
    assert [r.attempts for r in _rows(world)] == [1, 1, 0]
    clock.advance(seconds=10)
    deliver_due(world.db, box, now=clock)
    assert [e["data"]["action"] for e in receiver.events("market")["events"]] == ["warn", "suspend", "ban"]


def test_workers_sharing_the_outbox_deliver_each_event_once(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    ids = world.add_subjects(*(account(f"u{n}") for n in range(40)))
    with world.db.session() as s:
        for n in range(40):
            for kind in (Action.WARN, Action.BAN):
                apply_action(s, SETUP, s.get_one(Subject, ids[f"u{n}"]), kind)
    together([lambda: deliver_due(world.db, box)] * 3)
    deliver_due(world.db, box)  # anything a worker left because it was held back behind a subject's earlier event
    seen, rows = receiver.events("market"), _rows(world)
    assert len(rows) == 80 and {(r.state, r.attempts) for r in rows} == {("delivered", 1)}
    assert (seen["accepted"], seen["duplicates"], seen["stale"]) == (80, 0, 0)


def test_a_timed_suspension_is_lifted_when_it_ends_and_the_lift_is_delivered(
    world: World, box: SecretBox, receiver: Receiver
) -> None:
    connect(world, box, receiver)
    suspended, _other = _act(world, ("u1", Action.SUSPEND), ("u2", Action.SUSPEND))
    assert lift_due(world.db) == 0  # a day to go
    later = utcnow() + timedelta(days=1, seconds=1)
    assert lift_due(world.db, now=later) == 2
    assert world.visibility(*world.add_subjects(account("u1"), account("u2")).values()) == ["visible", "visible"]
    deliver_due(world.db, box, now=lambda: later)
    arrived: dict[str, list[tuple[str, int]]] = {}
    for event in receiver.events("market")["events"]:  # in the order they arrived
        arrived.setdefault(event["data"]["subject"]["external_id"], []).append((event["type"], event["data"]["sequence"]))
    assert arrived == {name: [("action.applied", 1), ("action.expired", 2)] for name in ("u1", "u2")}
    with world.db.reader() as s:
        expired = s.execute(select(AuditEvent).where(AuditEvent.verb == "action.expired").order_by(AuditEvent.id)).scalars().all()
        assert [(e.actor_id, e.after["action_id"], e.after["restored"]) for e in expired][0] == ("suspension-timer", suspended, True)
    assert lift_due(world.db, now=utcnow() + timedelta(days=2)) == 0  # lifted once


def test_a_longer_second_suspension_keeps_the_account_suspended_when_the_first_ends(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    ids = world.add_subjects(account("u1"))
    with world.db.session() as s:
        apply_action(s, SETUP, s.get_one(Subject, ids["u1"]), Action.SUSPEND, params={"days": 1})
        apply_action(s, SETUP, s.get_one(Subject, ids["u1"]), Action.SUSPEND, params={"days": 7})
    assert lift_due(world.db, now=utcnow() + timedelta(days=2)) == 1
    assert world.visibility(ids["u1"]) == ["suspended"]
    later = utcnow() + timedelta(days=8)
    assert lift_due(world.db, now=later) == 1
    assert world.visibility(ids["u1"]) == ["visible"]
    deliver_due(world.db, box, now=lambda: later)
    assert [e["type"] for e in receiver.events("market")["events"]] == ["action.applied", "action.applied", "action.expired"]
