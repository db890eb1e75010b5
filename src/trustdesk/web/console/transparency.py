"""Console: the DSA transparency report (Art. 15/24) for a period, with bar charts drawn as
inline SVG on the server (no script), and the same figures as a CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from trustdesk.domain.errors import FieldError
from trustdesk.domain.roles import TRANSPARENCY_READERS
from trustdesk.dsa.period import Period, parse_period
from trustdesk.dsa.transparency import as_csv, transparency_report
from trustdesk.store.models import utcnow
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render, templates
from trustdesk.web.permissions import StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
templates.env.globals["may_read_transparency"] = lambda who: who.has(*TRANSPARENCY_READERS)  # the nav links here only for them

DEFAULT_DAYS = 30
BAR_WIDTH = 320  # pixels of the longest bar


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: int


def bars(counts: dict[str, int], prefix: str = "") -> list[Bar]:
    """One bar per count, the largest `BAR_WIDTH` wide; labels without the enum's `prefix`."""
    largest = max(counts.values(), default=0)
    return [
        Bar(label.removeprefix(prefix).replace("_", " ").lower(), value, round(BAR_WIDTH * value / largest) if largest else 0)
        for label, value in counts.items()
    ]


def _period(since: str | None, until: str | None) -> Period:
    today = utcnow().date()
    return parse_period(since or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), until or None, today)


@router.get("/transparency")
def transparency_page(
    request: Request, since: str | None = Query(None, max_length=10), until: str | None = Query(None, max_length=10),
    who: StaffContext = Depends(staff_with(*TRANSPARENCY_READERS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The figures of the period (the last 30 days unless asked), with charts."""
    try:
        period = _period(since, until)
    except FieldError as exc:
        return render(request, "transparency.html", {"who": who, "error": str(exc), "since": since, "until": until}, status_code=exc.status)
    report = transparency_report(session, period)
    charts = [
        ("Notices by category", bars(report.notices.by_category, "STATEMENT_CATEGORY_")),
        ("Notices by source", bars(report.notices.by_source)),
        ("Decisions by automation", bars(report.decisions.automated_decision)),
        ("Appeal outcomes", bars(report.appeals.decided)),
        ("Art. 23 account suspensions", bars(report.suspensions.accounts)),
    ]
    return render(request, "transparency.html", {
        "who": who, "report": report, "charts": charts, "since": period.since.isoformat(), "until": period.until.isoformat(),
    })


@router.get("/transparency.csv")
def transparency_csv(
    since: str | None = Query(None, max_length=10), until: str | None = Query(None, max_length=10),
    _who: StaffContext = Depends(staff_with(*TRANSPARENCY_READERS)), session: Session = Depends(read_session),
) -> Response:
    """The same figures, one per row, to download."""
    period = _period(since, until)
    name = f"transparency-{period.since.isoformat()}-{period.until.isoformat()}.csv"
    return Response(as_csv(transparency_report(session, period)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
