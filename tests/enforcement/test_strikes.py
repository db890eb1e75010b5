"""The strike ladder: warn first, then suspend, then ban; what counts as a prior warning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.enforcement.conftest import World, account, item
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.policies import Action
from trustdesk.domain.strikes import Sanction
from trustdesk.enforcement.actions import apply_action, undo_action
from trustdesk.enforcement.strikes import (
    SanctionResult,
    active_strikes,
    active_weight,
    add_strike,
    revoke_strike,
)
from trustdesk.store.models import AuditEvent, Strike, Subject, as_utc, utcnow

REVIEWER = Actor("staff", "alice")


def _strike(world: World, account_id: int, code: str) -> SanctionResult:
    with world.db.session() as s:
        return add_strike(s, REVIEWER, account_id, world.policy(code), None)


def test_ladder_warns_then_suspends_then_bans(world: World) -> None:
    ids = world.add_subjects(account("acc"))
    results = [_strike(world, ids["acc"], "SPAM") for _ in range(3)]  # severity 2: weight 2 each

    assert [(r.active_weight, r.warned_before, r.sanction) for r in results] == [
        (2.0, False, Sanction.WARN), (4.0, True, Sanction.SUSPEND), (6.0, True, Sanction.BAN)
    ]
    kinds = [r.action.kind if r.action else None for r in results]
    assert kinds == ["warn", "suspend", "ban"]
    assert all(r.action and r.action.created_by == "system:strike-ladder" for r in results)
    suspension = results[1].action
    assert suspension is not None and suspension.params["days"] == 7
    assert as_utc(suspension.ends_at) - as_utc(suspension.created_at) == timedelta(days=7)
    assert world.subject(ids["acc"]).visibility == "banned"
    with world.db.reader() as s:
        assert [r.weight for r in active_strikes(s, ids["acc"])] == [2.0, 2.0, 2.0]
        added = s.execute(select(AuditEvent).where(AuditEvent.verb == "strike.added").order_by(AuditEvent.id)).scalars().all()
        assert [e.after["sanction"] for e in added] == ["warn", "suspend", "ban"]
        assert {e.actor_id for e in added} == {"alice"}
        assert verify_chain(s).ok


def test_a_severe_first_strike_only_warns(world: World) -> None:
    ids = world.add_subjects(account("acc"))
    first = _strike(world, ids["acc"], "NCII")  # severity 5: weight 5, above the suspension threshold
    assert (first.active_weight, first.warned_before, first.sanction) == (5.0, False, Sanction.WARN)
    assert world.subject(ids["acc"]).visibility == "visible"
    second = _strike(world, ids["acc"], "NCII")
    assert (second.active_weight, second.sanction) == (10.0, Sanction.BAN)
    assert world.subject(ids["acc"]).visibility == "banned"


def test_a_reviewers_warning_counts_until_it_is_undone(world: World) -> None:
    ids = world.add_subjects(account("acc"), account("acc-2"))
    with world.db.session() as s:
        kept = s.get_one(Subject, ids["acc"])
        apply_action(s, REVIEWER, kept, Action.WARN)
        withdrawn = apply_action(s, REVIEWER, s.get_one(Subject, ids["acc-2"]), Action.WARN).action
    with world.db.session() as s:
        undo_action(s, REVIEWER, withdrawn.id)

    # Harassment weighs 3, enough to suspend an account that was warned before.
    assert _strike(world, ids["acc"], "HARASSMENT").sanction is Sanction.SUSPEND
    assert _strike(world, ids["acc-2"], "HARASSMENT").sanction is Sanction.WARN


def test_revoked_and_expired_strikes_stop_counting(world: World) -> None:
    ids = world.add_subjects(account("acc"))
    result = _strike(world, ids["acc"], "SCAM")
    with world.db.session() as s:
        s.add(Strike(account_id=ids["acc"], policy_code="SPAM", weight=2.0, expires_at=utcnow() - timedelta(days=1)))
    with world.db.reader() as s:
        assert [st.id for st in active_strikes(s, ids["acc"])] == [result.strike.id]
        assert active_weight(s, ids["acc"]) == 4.0

    with world.db.session() as s:
        revoke_strike(s, REVIEWER, result.strike.id, reason="appeal upheld")
    with world.db.reader() as s:
        assert active_strikes(s, ids["acc"]) == [] and active_weight(s, ids["acc"]) == 0.0
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "strike.revoked")).scalar_one()
        assert event.after["reason"] == "appeal upheld"
    with pytest.raises(Conflict), world.db.session() as s:
        revoke_strike(s, REVIEWER, result.strike.id)


def test_strikes_go_to_accounts_only(world: World) -> None:
    ids = world.add_subjects(account("acc"), item("post", "post", owner="acc"))
    with pytest.raises(FieldError) as caught:
        _strike(world, ids["post"], "SPAM")
    assert caught.value.field == "account_id"
