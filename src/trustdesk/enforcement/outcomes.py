"""What a decided case shows: each of its decisions with who took it, why, what it did and
where that stands (delivery to the host platform, appeal, reversal).

One read of the case's decisions, their actions with delivery state, their appeals and the
names of the staff who decided them; the case page renders it as the outcome panel, so staff
see at a glance whether the user and the host platform have been told, and what can still be
undone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.delivery.outbox import ActionDelivery, case_actions
from trustdesk.enforcement.actions import APPLIED
from trustdesk.enforcement.appeals import user_may_appeal
from trustdesk.store.models import Appeal, Decision, StaffUser


@dataclass(frozen=True)
class DecisionOutcome:
    decision: Decision
    decided_by: str | None  # the reviewer's name; None when automation decided
    actions: list[ActionDelivery]  # the actions it applied, cascades included
    appeal: Appeal | None  # its latest appeal
    judged_by: Decision | None  # the appeal decision or second opinion that judged it, if any

    @property
    def standing(self) -> list[ActionDelivery]:
        """The actions still in force: what reversing the decision would withdraw."""
        return [a for a in self.actions if a.action.status == APPLIED and a.action.cascade_of is None]

    @property
    def appealable(self) -> bool:
        return user_may_appeal(self.decision) and (self.appeal is None or self.appeal.outcome is not None) \
            and self.judged_by is None


def case_outcomes(session: Session, case_id: int) -> list[DecisionOutcome]:
    """The case's decisions, oldest first; the caller has checked that the reader may see the case."""
    decisions = list(session.execute(select(Decision).where(Decision.case_id == case_id).order_by(Decision.id)).scalars())
    if not decisions:
        return []
    ids = [d.id for d in decisions]
    by_decision: dict[int, list[ActionDelivery]] = {}
    for item in case_actions(session, case_id):
        by_decision.setdefault(item.action.decision_id or 0, []).append(item)
    appeals: dict[int, Appeal] = {}
    for appeal in session.execute(select(Appeal).where(Appeal.decision_id.in_(ids)).order_by(Appeal.id)).scalars():
        appeals[appeal.decision_id] = appeal
    judged: dict[int, Decision] = {
        d.judges_decision_id: d
        for d in session.execute(select(Decision).where(Decision.judges_decision_id.in_(ids)).order_by(Decision.id)).scalars()
        if d.judges_decision_id is not None
    }
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name).where(
        StaffUser.id.in_({d.reviewer_id for d in decisions if d.reviewer_id})
    )).all())
    return [
        DecisionOutcome(d, names.get(d.reviewer_id) if d.reviewer_id else None, by_decision.get(d.id, []),
                        appeals.get(d.id), judged.get(d.id))
        for d in decisions
    ]
