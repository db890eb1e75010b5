"""Monthly active recipients in the database: reported by an app's host platform, one row per app
and month, a later report of the same month replacing the earlier (the unique (app, month) key
decides, so reports sent at the same moment leave one row and exactly one of them is new); and
the figures of a period's months, summed over the apps, for the transparency report.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.active_recipients import MonthlyFigure, month_label
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import ActiveRecipients, utcnow


def report_month(session: Session, actor: Actor, app_id: int, month: date, figure: MonthlyFigure) -> tuple[ActiveRecipients, bool]:
    """Store an app's figure for the month, replacing any earlier one; the row, and whether it is new."""
    figure = figure.checked()
    values = {"count": figure.count, "by_member_state": dict(figure.by_member_state), "reported_by": actor.label, "reported_at": utcnow()}
    # Inserted, or else the month's row locked and read: `before` is exactly what this report
    # replaced, however many for the month arrive together.
    row_id = session.execute(conflict_insert(session, ActiveRecipients).values(app_id=app_id, month=month, **values)
                             .on_conflict_do_nothing(index_elements=["app_id", "month"]).returning(ActiveRecipients.id)).scalar_one_or_none()
    before = None
    if row_id is None:
        row = session.execute(select(ActiveRecipients).where(ActiveRecipients.app_id == app_id, ActiveRecipients.month == month)
                              .with_for_update()).scalar_one()
        row_id, before = row.id, {"count": row.count, "by_member_state": row.by_member_state}
        session.execute(update(ActiveRecipients).where(ActiveRecipients.id == row_id).values(values))
    record(session, actor=actor, verb="active_recipients.reported", object_type="active_recipients", object_id=row_id, before=before,
           after={"app_id": app_id, "month": month_label(month), "count": figure.count, "by_member_state": dict(figure.by_member_state)})
    row = session.get_one(ActiveRecipients, row_id)
    session.refresh(row)
    return row, before is None


def monthly_figures(session: Session, months: list[date]) -> dict[date, MonthlyFigure]:
    """Each of the months that has figures: the apps' counts and breakdowns summed."""
    counts: dict[date, int] = defaultdict(int)
    states: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(select(ActiveRecipients.month, ActiveRecipients.count, ActiveRecipients.by_member_state)
                           .where(ActiveRecipients.month.in_(months))) if months else []
    for month, count, by_state in rows:
        counts[month] += count
        for state, value in by_state.items():
            states[month][state] += value
    return {month: MonthlyFigure(counts[month], dict(states[month])) for month in sorted(counts)}
