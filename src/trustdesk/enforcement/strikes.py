"""Strikes on accounts and the graduated sanction each one triggers (DSA Art. 23: warn first).

The ladder's rules live in `trustdesk.domain.strikes`; this module stores the strike, works
out the account's active weight and warning history, and applies the sanction through
`actions`, as the system actor `strike-ladder` so the history shows it was not a reviewer's
own choice. The account row is locked first, so two decisions striking the same account at
once are counted one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.policies import Action
from trustdesk.domain.strikes import (
    DEFAULT_LADDER,
    Ladder,
    Sanction,
    sanction_for,
    strike_weight,
)
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.enforcement.actions import APPLIED, Applied, apply_action
from trustdesk.store.models import EnforcementAction, Policy, Strike, Subject, utcnow

LADDER_ACTOR = Actor("system", "strike-ladder")
_SANCTION_ACTIONS = {Sanction.WARN: Action.WARN, Sanction.SUSPEND: Action.SUSPEND, Sanction.BAN: Action.BAN}


@dataclass(frozen=True)
class SanctionResult:
    strike: Strike
    active_weight: float
    warned_before: bool
    sanction: Sanction
    applied: Applied | None  # the warn/suspend/ban applied, None for Sanction.NONE

    @property
    def action(self) -> EnforcementAction | None:
        return self.applied.action if self.applied else None


def add_strike(
    session: Session, actor: Actor, account_id: int, policy: Policy, decision_id: int | None, ladder: Ladder = DEFAULT_LADDER
) -> SanctionResult:
    account = session.get(Subject, account_id, with_for_update=True)
    if account is None:
        raise NotFound("account_id", f"no subject {account_id}")
    if account.kind != SubjectKind.ACCOUNT:
        raise FieldError("account_id", f"subject {account_id} is a {account.kind}; strikes go to accounts")
    warned = warned_before(session, account_id)
    now = utcnow()
    strike = Strike(
        account_id=account_id, decision_id=decision_id, policy_code=policy.code, weight=strike_weight(policy.severity),
        created_at=now, expires_at=now + ladder.strike_lifetime,
    )
    session.add(strike)
    session.flush()
    weight = active_weight(session, account_id, now)
    sanction = sanction_for(weight, warned_before=warned, ladder=ladder)
    record(
        session, actor=actor, verb="strike.added", object_type="subject", object_id=account_id,
        after={
            "strike_id": strike.id, "policy_code": policy.code, "policy_version": policy.version, "weight": strike.weight,
            "expires_at": strike.expires_at, "decision_id": decision_id, "active_weight": weight,
            "warned_before": warned, "sanction": sanction.value,
        },
    )
    applied = None
    if sanction is not Sanction.NONE:
        params = {"days": ladder.suspension.days} if sanction is Sanction.SUSPEND else None
        applied = apply_action(session, LADDER_ACTOR, account, _SANCTION_ACTIONS[sanction], decision_id=decision_id, params=params)
    return SanctionResult(strike, weight, warned, sanction, applied)


def warned_before(session: Session, account_id: int) -> bool:
    """Whether the account has had a warning that still stands: a warn action or any strike.

    Expired strikes count (the person was told); revoked strikes and undone warnings do not.
    """
    warned = exists().where(
        EnforcementAction.subject_id == account_id, EnforcementAction.kind == Action.WARN.value,
        EnforcementAction.status == APPLIED,
    )
    struck = exists().where(Strike.account_id == account_id, Strike.revoked_at.is_(None))
    return bool(session.execute(select(or_(warned, struck))).scalar_one())


def active_weight(session: Session, account_id: int, now: datetime | None = None) -> float:
    weight = session.execute(select(func.coalesce(func.sum(Strike.weight), 0.0)).where(_active(account_id, now or utcnow())))
    return float(weight.scalar_one())


def active_strikes(session: Session, account_id: int) -> list[Strike]:
    """The strikes that count now, newest first (for the case page)."""
    query = select(Strike).where(_active(account_id, utcnow())).order_by(Strike.created_at.desc(), Strike.id.desc())
    return list(session.execute(query).scalars())


def _active(account_id: int, now: datetime) -> ColumnElement[bool]:
    return and_(Strike.account_id == account_id, Strike.revoked_at.is_(None), Strike.expires_at > now)


def revoke_strike(session: Session, actor: Actor, strike_id: int, *, reason: str = "") -> Strike:
    """Withdraw a strike (an appeal upheld); sanctions it caused are undone separately."""
    strike = session.get(Strike, strike_id, with_for_update=True)
    if strike is None:
        raise NotFound("strike_id", f"no strike {strike_id}")
    if strike.revoked_at is not None:
        raise Conflict("strike_id", f"strike {strike_id} was already revoked")
    strike.revoked_at = utcnow()
    record(
        session, actor=actor, verb="strike.revoked", object_type="subject", object_id=strike.account_id,
        before={"strike_id": strike.id, "revoked_at": None},
        after={"strike_id": strike.id, "revoked_at": strike.revoked_at, "reason": reason},
    )
    return strike
