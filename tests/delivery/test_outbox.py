"""Events are written with the change they announce: one row per endpoint, a sequence per subject."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import func, select, text

from tests.concurrency import together
from tests.delivery.conftest import Receiver, connect
from tests.enforcement.conftest import SETUP, World, account, item
from trustdesk.delivery.endpoints import MAX_PER_APP, add_endpoint, check_url, remove_endpoint
from trustdesk.delivery.outbox import next_sequence
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.policies import Action
from trustdesk.enforcement.actions import apply_action, undo_action
from trustdesk.store.database import Database
from trustdesk.store.models import App, AuditEvent, OutboxMessage, Subject, SubjectSequence, WebhookEndpoint


def _rows(world: World) -> list[OutboxMessage]:
    with world.db.reader() as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_no_endpoint_no_rows_and_no_sequence(world: World) -> None:
    ids = world.add_subjects(account("acc"))
    with world.db.session() as s:
        apply_action(s, SETUP, s.get_one(Subject, ids["acc"]), Action.BAN)
    assert _rows(world) == []
    with world.db.reader() as s:
        assert s.execute(select(SubjectSequence)).scalars().all() == []


def test_an_action_writes_one_event_per_active_endpoint_with_the_envelope(world: World, box: SecretBox, receiver: Receiver) -> None:
    first, second = connect(world, box, receiver, "one"), connect(world, box, receiver, "two")
    ids = world.add_subjects(account("acc"), item("shop", "shop", owner="acc"), item("listing", "listing", parent="shop", owner="acc"))
    with world.db.session() as s:
        applied = apply_action(s, SETUP, s.get_one(Subject, ids["acc"]), Action.SUSPEND, params={"days": 3}).action
        cascade = apply_action(s, SETUP, s.get_one(Subject, ids["shop"]), Action.CASCADE_TAKEDOWN).action
    rows = _rows(world)
    # suspend (acc), takedown (shop), remove (listing, cascaded): each to both endpoints
    assert [(r.endpoint_id, r.action_id, r.event_type, r.state) for r in rows] == [
        (endpoint, action, "action.applied", "pending")
        for action in (applied.id, cascade.id, cascade.id + 1) for endpoint in (first, second)
    ]
    assert len({r.webhook_id for r in rows}) == 6
    envelope = rows[0].payload
    assert envelope["type"] == "action.applied" and envelope["timestamp"].endswith("Z")
    assert envelope["data"] == {
        "action_id": applied.id, "decision_id": None, "action": "suspend",
        "subject": {"kind": "account", "external_id": "acc"}, "policy_code": None,
        "ends_at": envelope["data"]["ends_at"], "statement_of_reasons_id": None, "sequence": 1, "cascade_of": None,
        "params": {"days": 3},
    }
    assert envelope["data"]["ends_at"].endswith("Z")
    listing = rows[4].payload["data"]
    assert (listing["action"], listing["cascade_of"], listing["subject"]) == ("remove", cascade.id, {"kind": "listing", "external_id": "listing"})


def test_events_are_written_in_the_transaction_of_the_action(world: World, box: SecretBox, receiver: Receiver) -> None:
    connect(world, box, receiver)
    ids = world.add_subjects(account("acc"))
    with pytest.raises(RuntimeError), world.db.session() as s:
        apply_action(s, SETUP, s.get_one(Subject, ids["acc"]), Action.BAN)
        raise RuntimeError("the decision fails after its actions")
    assert _rows(world) == [] and world.visibility(ids["acc"]) == ["visible"]


def test_an_undo_announces_the_reversal_with_a_higher_sequence_unless_nothing_changed(
    world: World, box: SecretBox, receiver: Receiver
) -> None:
    connect(world, box, receiver)
    ids = world.add_subjects(account("acc"), item("post", "post", owner="acc"))
    with world.db.session() as s:
        removed = apply_action(s, SETUP, s.get_one(Subject, ids["post"]), Action.REMOVE).action
        hidden = apply_action(s, SETUP, s.get_one(Subject, ids["post"]), Action.RESTRICT_VISIBILITY).action
        s.get_one(Subject, ids["post"]).visibility = "disabled"  # changed again since: the undo will skip it
        banned = apply_action(s, SETUP, s.get_one(Subject, ids["acc"]), Action.BAN).action
    with world.db.session() as s:
        undo_action(s, SETUP, removed.id)
        undo_action(s, SETUP, banned.id)
    events = [(r.payload["type"], r.action_id, r.payload["data"]["subject"]["external_id"], r.sequence) for r in _rows(world)]
    assert events == [
        ("action.applied", removed.id, "post", 1), ("action.applied", hidden.id, "post", 2),
        ("action.applied", banned.id, "acc", 1), ("action.reversed", banned.id, "acc", 2),
    ]


def test_a_subjects_sequence_strictly_increases_under_concurrent_writers(db: Database, world: World) -> None:
    ids = world.add_subjects(account("acc"))
    got: list[int] = []

    def bump() -> None:
        for _ in range(5):
            with db.session() as s:
                got.append(next_sequence(s, ids["acc"]))

    together([bump] * 8)
    assert sorted(got) == list(range(1, 41))


def test_secrets_are_stored_encrypted_and_removal_cancels_waiting_deliveries(
    world: World, box: SecretBox, receiver: Receiver
) -> None:
    with world.db.session() as s:
        endpoint, secret = add_endpoint(s, SETUP, box, s.get_one(App, world.app_id), "https://hooks.example/td", production=True)
    assert secret.startswith("whsec_")
    raw = secret.removeprefix("whsec_")
    with world.db.reader() as s:
        stored = s.execute(text("SELECT secret_encrypted FROM webhook_endpoints")).scalar_one()
        dumped = " ".join(str(v) for row in s.execute(text("SELECT * FROM webhook_endpoints")) for v in row)
    assert raw not in dumped and box.open(bytes(stored)) == base64.b64decode(raw)
    with pytest.raises(InvalidTag):  # only the deployment's key opens it
        SecretBox("another deployment key, long").open(bytes(stored))
    ids = world.add_subjects(account("acc"))
    with world.db.session() as s:
        apply_action(s, SETUP, s.get_one(Subject, ids["acc"]), Action.BAN)
    with world.db.session() as s:
        assert remove_endpoint(s, SETUP, endpoint.id) == 1
    with world.db.session() as s, pytest.raises(Conflict):
        remove_endpoint(s, SETUP, endpoint.id)
    assert [r.state for r in _rows(world)] == ["cancelled"]
    with world.db.reader() as s:
        assert not s.get_one(WebhookEndpoint, endpoint.id).active
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "webhook_endpoint").order_by(AuditEvent.id)).scalars().all()
    assert verbs == ["webhook_endpoint.added", "webhook_endpoint.removed"]
    with world.db.session() as s:  # a removed endpoint gets nothing more
        apply_action(s, SETUP, s.get_one(Subject, ids["acc"]), Action.WARN)
    assert len(_rows(world)) == 1


def test_endpoints_added_at_once_stop_at_the_limit(world: World, box: SecretBox) -> None:
    with world.db.session() as s:
        for n in range(MAX_PER_APP - 1):
            add_endpoint(s, SETUP, box, s.get_one(App, world.app_id), f"https://hooks.example/{n}", production=True)
    added: list[int] = []
    refused: list[FieldError] = []

    def add(n: int) -> None:
        try:
            with world.db.session() as s:
                added.append(add_endpoint(s, SETUP, box, s.get_one(App, world.app_id), f"https://hooks.example/more-{n}", production=True)[0].id)
        except FieldError as exc:
            refused.append(exc)

    together([lambda n=n: add(n) for n in range(4)])
    assert len(added) == 1 and [exc.field for exc in refused] == ["app"] * 3
    with world.db.reader() as s:
        assert s.execute(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).scalar_one() == MAX_PER_APP


@pytest.mark.parametrize(("url", "production", "problem"), [
    ("https://hooks.example/td", True, None),
    ("https://hooks.example:8443/td?app=1", False, None),
    ("http://127.0.0.1:8900/hooks/dating", False, None),
    ("http://localhost/hooks", False, None),
    ("http://[::1]:8900/hooks", False, None),
    ("http://127.0.0.1:8900/hooks/dating", True, "https only"),
    ("http://hooks.example/td", False, "only to this machine"),
    ("http://10.0.0.5/td", False, "only to this machine"),
    ("ftp://hooks.example/td", False, "absolute https"),
    ("hooks.example/td", False, "absolute https"),
    ("https://user:pw@hooks.example/td", True, "no user or password"),
    ("https://hooks.example:99999/td", True, "port"),
    ("https://hooks.example:0/td", True, "port"),
    ("https://xn--a.example/td", True, "not a URL deliveries can be sent to"),  # punycode that does not decode
    ("https://\u01c5.example/td", False, "not a URL deliveries can be sent to"),  # no IDNA name has a titlecase letter
    ("https://[::1/td", False, "not a URL deliveries can be sent to"),
    ("https://b\u00fccher.example/td", True, None),
    ("https://93.184.215.14/td", True, None),
    ("https://[2606:4700::1111]/td", True, None),
    ("https://[::ffff:93.184.215.14]/td", True, None),
    ("https://127.0.0.1:8443/td", False, None),  # development: the sandbox on this machine
    ("https://10.0.0.5/td", False, None),
    ("https://169.254.169.254/latest/meta-data/", True, "inside a network"),  # cloud metadata: link-local
    ("https://127.0.0.1:6443/api", True, "inside a network"),
    ("https://10.0.0.5/", True, "inside a network"),
    ("https://192.168.1.1/", True, "inside a network"),
    ("https://224.0.0.1/", True, "inside a network"),  # multicast
    ("https://240.0.0.1/", True, "inside a network"),  # reserved
    ("https://0.0.0.0/", True, "inside a network"),
    ("https://127.1/", True, "inside a network"),  # short forms the resolver reads as 127.0.0.1
    ("https://2130706433/", True, "inside a network"),
    ("https://0xa9.254.169.254/", True, "inside a network"),
    ("https://[::1]/", True, "inside a network"),
    ("https://[::]/", True, "inside a network"),
    ("https://[fe80::1]/", True, "inside a network"),
    ("https://[fd00::5]/", True, "inside a network"),
    ("https://[ff02::1]/", True, "inside a network"),
    ("https://[::ffff:169.254.169.254]/", True, "inside a network"),  # IPv4-mapped
    ("https://[::ffff:a9fe:a9fe]/", True, "inside a network"),
    ("https://100.100.100.200/latest/meta-data/", True, "inside a network"),  # carrier-grade NAT space: a cloud's metadata
    ("https://[64:ff9b::a9fe:a9fe]/", True, "inside a network"),  # 169.254.169.254 behind NAT64
    ("https://[64:ff9b::5db8:d70e]/td", True, None),  # a public address behind NAT64
    ("https://hooks.example/td#x", True, "fragment"),
    ("https://hooks.example/t d", True, "no spaces"),
    ("", True, "at most"),
    ("https://hooks.example/" + "a" * 2000, True, "at most"),
])
def test_url_rules(url: str, production: bool, problem: str | None) -> None:
    if problem is None:
        assert check_url(url, production=production) == url
        return
    with pytest.raises(FieldError, match=problem) as refused:
        check_url(url, production=production)
    assert refused.value.field == "url"
