"""Timed suspensions end by themselves: a recurring worker job lifts those whose `ends_at` passed.

Lifting puts the account back as the suspension found it, audits `action.expired` and
announces it to the host platform, all in one transaction per batch; the action's status
becomes `expired`. If a later action still holds the account in the same state (a second
suspension, longer than the first), the account stays as it is and the later action inherits
what to restore when it ends; nothing is announced then, since nothing changed. A suspension
undone before its end is not lifted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.delivery.outbox import EventType, announce
from trustdesk.domain.policies import Action
from trustdesk.enforcement.actions import APPLIED, EXPIRED, restore_state
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.store.database import Database
from trustdesk.store.models import EnforcementAction, Subject, utcnow

TIMER = Actor("system", "suspension-timer")
BATCH = 500


def lift_due(db: Database, *, now: datetime | None = None) -> int:
    """Lift every suspension that has ended, a batch per transaction; returns how many."""
    lifted = 0
    while True:
        moment = now or utcnow()
        with db.session() as session:
            query = (
                select(EnforcementAction)
                .where(EnforcementAction.kind == Action.SUSPEND.value, EnforcementAction.status == APPLIED,
                       EnforcementAction.ends_at <= moment)
                .order_by(EnforcementAction.ends_at, EnforcementAction.id)
                .limit(BATCH)
            )
            due = session.execute(query if db.is_sqlite else query.with_for_update(skip_locked=True)).scalars().all()
            for action in due:
                lift(session, action, moment)
        lifted += len(due)
        if len(due) < BATCH:
            return lifted


def lift(session: Session, action: EnforcementAction, now: datetime) -> bool:
    """End one suspension; True if the account was put back (and the host platform told)."""
    subject = session.get_one(Subject, action.subject_id, with_for_update=True)
    before = subject.visibility
    successor = session.execute(
        select(EnforcementAction)
        .where(EnforcementAction.subject_id == subject.id, EnforcementAction.id > action.id,
               EnforcementAction.status == APPLIED, EnforcementAction.visibility_after == action.visibility_after,
               EnforcementAction.visibility_before == action.visibility_after)
        .order_by(EnforcementAction.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if successor is not None and subject.visibility == action.visibility_after:
        successor.visibility_before = action.visibility_before
        restored = False
    else:
        restored = restore_state(action, subject)
    action.status = EXPIRED
    if restored:
        subject.updated_at = now
        announce(session, EventType.ACTION_EXPIRED, action, now=now)
    record(
        session, actor=TIMER, verb="action.expired", object_type="subject", object_id=subject.id,
        before={"visibility": before},
        after={"visibility": subject.visibility, "action_id": action.id, "ends_at": action.ends_at, "restored": restored,
               "handed_on_to": successor.id if successor is not None and not restored else None},
    )
    return restored


@dataclass(frozen=True)
class LiftSuspensions:
    """The recurring lift (no fields: it takes every suspension that has ended)."""


@job_kind("lift_suspensions", LiftSuspensions, every=timedelta(minutes=1))
def lift_suspensions(ctx: WorkerContext, _job: LiftSuspensions) -> None:
    lift_due(ctx.db)
