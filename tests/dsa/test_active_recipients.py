"""The host platform reports its monthly active recipients (DSA Art. 24(2)), one figure per app and
month that a later report replaces; the transparency report averages the months of its period
that have figures and names the months that have none, in JSON, CSV and on the console page."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients
from trustdesk.auth.staff import create_user
from trustdesk.config import Settings
from trustdesk.domain.active_recipients import MonthlyFigure, average, months_between
from trustdesk.domain.vocabulary import Scope
from trustdesk.dsa.active_recipients import report_month
from trustdesk.dsa.period import Period
from trustdesk.dsa.transparency import as_csv, transparency_report
from trustdesk.organisation import ensure_app
from trustdesk.store.models import ActiveRecipients, App, AuditEvent

SETUP = Actor("test", "setup")
H2 = Period(date(2026, 7, 1), date(2026, 12, 31))


def _put(api: Api, month: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return api.client.put(f"/api/v1/active-recipients/{month}", json=body, headers=headers or api.auth)


def test_a_month_is_reported_then_replaced(api: Api) -> None:
    first = _put(api, "2026-07", {"count": 120_000, "by_member_state": {"DE": 70_000, "fr": 30_000, "EL": 5_000}})
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("month", "count", "by_member_state", "reported_by")} == \
        {"month": "2026-07", "count": 120_000, "by_member_state": {"DE": 70_000, "FR": 30_000, "GR": 5_000}, "reported_by": "client:dating-backend"}
    again = _put(api, "2026-07", {"count": 125_000})
    assert again.status_code == 200, again.text
    assert (again.json()["count"], again.json()["by_member_state"]) == (125_000, {})
    with api.db.reader() as s:
        stored = s.execute(select(ActiveRecipients)).scalars().all()
        assert [(r.app_id, r.month, r.count) for r in stored] == [(api.app_id, date(2026, 7, 1), 125_000)]
        audit = s.execute(select(AuditEvent).where(AuditEvent.verb == "active_recipients.reported").order_by(AuditEvent.id)).scalars().all()
        assert [(a.before, a.after["count"]) for a in audit] == [
            (None, 120_000), ({"count": 120_000, "by_member_state": {"DE": 70_000, "FR": 30_000, "GR": 5_000}}, 125_000)]


@pytest.mark.parametrize(("month", "body", "field"), [
    ("2026-13", {"count": 1}, "month"),
    ("2026-7", {"count": 1}, "month"),
    ("july", {"count": 1}, "month"),
    ((date.today().replace(day=1) + timedelta(days=32)).strftime("%Y-%m"), {"count": 1}, "month"),  # next month
    ("2026-07", {"count": -1}, "count"),
    ("2026-07", {}, "count"),
    ("2026-07", {"count": 10, "by_member_state": {"US": 5}}, "by_member_state.US"),
    ("2026-07", {"count": 10, "by_member_state": {"CH": 5}}, "by_member_state.CH"),
    ("2026-07", {"count": 10, "by_member_state": {"DE": -1}}, "by_member_state.DE"),
    ("2026-07", {"count": 10, "by_member_state": {"DE": 11}}, "by_member_state.DE"),
    ("2026-07", {"count": 10, "by_member_state": {"GR": 1, "EL": 2}}, "by_member_state.EL"),
    ("2026-07", {"count": 10, "per_state": {}}, "per_state"),
])
def test_bad_figures_are_refused_naming_the_field(api: Api, month: str, body: dict[str, Any], field: str) -> None:
    r = _put(api, month, body)
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
    with api.db.reader() as s:
        assert s.execute(select(func.count()).select_from(ActiveRecipients)).scalar_one() == 0


def test_a_token_without_the_scope_is_refused(api: Api) -> None:
    with api.db.session() as s:
        older = [x for x in Scope if x is not Scope.TRANSPARENCY_WRITE]
        token = api_clients.create_client(s, SETUP, s.get_one(App, api.app_id), "old-backend", older)[1]
    r = _put(api, "2026-07", {"count": 5}, {"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["field"]) == (403, "authorization")


def test_reports_of_one_month_sent_together_leave_one_row(api: Api) -> None:
    if api.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")

    new: list[bool] = []

    def send(count: int) -> None:
        with api.db.session() as s:
            new.append(report_month(s, SETUP, api.app_id, date(2026, 8, 1), MonthlyFigure(count, {}))[1])

    together([lambda n=n: send(n) for n in range(1000, 1006)])  # type: ignore[misc]
    with api.db.reader() as s:
        rows = s.execute(select(ActiveRecipients)).scalars().all()
        audited = s.execute(select(AuditEvent.before, AuditEvent.after).where(AuditEvent.verb == "active_recipients.reported")
                            .order_by(AuditEvent.id)).all()
    assert len(rows) == 1 and rows[0].count in range(1000, 1006)
    assert sorted(new) == [False] * 5 + [True]
    # Each report's audit event names what it replaced: the one before it, in the order they were written.
    assert [before and before["count"] for before, _after in audited] == [None] + [after["count"] for _before, after in audited[:-1]]
    assert audited[-1].after["count"] == rows[0].count


def test_the_average_is_over_the_months_with_figures_and_the_others_are_named(api: Api) -> None:
    with api.db.session() as s:
        market = ensure_app(s, SETUP, "market", "Market").id
        for app_id, month, count, states in ((api.app_id, 7, 1000, {"DE": 600}), (market, 7, 500, {"DE": 100, "FR": 300}),
                                             (api.app_id, 8, 2000, {}), (market, 8, 0, {}),  # no recipients: reported as 0
                                             (api.app_id, 10, 3000, {"FR": 900}),  # the market's October figure is late
                                             (api.app_id, 6, 99_999, {})):  # before the period
            report_month(s, SETUP, app_id, date(2026, month, 1), MonthlyFigure(count, states))
    with api.db.reader() as s:
        report = transparency_report(s, H2)
    figure = report.as_json()["active_recipients"]
    # July: both apps, 1500; August 2000 + 0; October lacks the market's figure: not counted short
    assert figure == {"average_monthly": 1750, "by_member_state": {"DE": 700, "FR": 300},  # July alone breaks down
                      "months_with_figures": ["2026-07", "2026-08"], "months_missing": ["2026-09", "2026-10", "2026-11", "2026-12"],
                      "apps_missing": {"2026-10": ["market"]}}
    rows = list(csv.reader(io.StringIO(as_csv(report))))
    assert ["active_recipients", "average_monthly", "1750"] in rows
    assert ["active_recipients", "by_member_state.FR", "300"] in rows
    assert ["active_recipients", "months_missing", "2026-09 2026-10 2026-11 2026-12"] in rows
    assert ["active_recipients", "apps_missing.2026-10", "market"] in rows


def test_a_period_without_figures_says_so() -> None:
    assert average([]) == (None, {})
    assert months_between(date(2026, 11, 20), date(2027, 1, 3)) == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]


def test_the_api_and_console_page_show_the_figure(api: Api, settings: Settings) -> None:
    assert _put(api, "2026-07", {"count": 1200, "by_member_state": {"DE": 700}}).status_code == 201
    assert _put(api, "2026-09", {"count": 1800}).status_code == 201
    with api.db.session() as s:
        analyst = create_user(s, SETUP, settings, username="ana", password="long-enough-password", roles=["analyst"], with_totp=False).id
    period = {"since": "2026-07-01", "until": "2026-09-30"}
    answer = api.client.get("/api/v1/transparency-report", params=period, headers=api.staff_token(analyst))
    assert answer.status_code == 200, answer.text
    assert answer.json()["active_recipients"] == {"average_monthly": 1500, "by_member_state": {"DE": 700},
                                                  "months_with_figures": ["2026-07", "2026-09"], "months_missing": ["2026-08"],
                                                  "apps_missing": {}}
    api.open_console(settings, analyst)
    page = api.client.get("/transparency", params=period)
    assert page.status_code == 200
    assert 'data-testid="active-recipients">1,500 (over 2026-07, 2026-09)<' in page.text
    assert 'data-testid="active-recipients-by-state">DE 700<' in page.text
    assert 'data-testid="active-recipients-missing">2026-08<' in page.text
