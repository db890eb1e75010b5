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
from trustdesk.store.models import ActiveRecipients, App, utcnow


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


def monthly_figures(session: Session, months: list[date]) -> tuple[dict[date, MonthlyFigure], dict[date, list[str]]]:
    """The months whose figures are complete, the apps' counts and breakdowns summed, and for the
    others that some app reported, the apps (by slug) whose figures are missing. Complete: every
    app that reported any of the months reported this one, so that an app whose figure is late
    is never counted as zero (an app with no recipients that month reports 0)."""
    rows = session.execute(select(ActiveRecipients.month, App.slug, ActiveRecipients.count, ActiveRecipients.by_member_state)
                           .join(App, App.id == ActiveRecipients.app_id).where(ActiveRecipients.month.in_(months))).all() if months else []
    reporting = {slug for _month, slug, _count, _states in rows}
    counts: dict[date, int] = defaultdict(int)
    states: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reported: dict[date, set[str]] = defaultdict(set)
    for month, slug, count, by_state in rows:
        counts[month] += count
        reported[month].add(slug)
        for state, value in by_state.items():
            states[month][state] += value
    complete = {month: MonthlyFigure(counts[month], dict(states[month])) for month in sorted(counts) if reported[month] == reporting}
    incomplete = {month: sorted(reporting - reported[month]) for month in sorted(counts) if month not in complete}
    return complete, incomplete
