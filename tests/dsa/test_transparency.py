"""The transparency report of a period from stored notices, decisions, appeals and measures:
each figure exact, and the same figures through the API, the console page, CSV and the command."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.command_line import run_command, runner
from tests.conftest import Api
from tests.enforcement.conftest import SETUP, World, account, item
from trustdesk.audit.log import Actor, record
from trustdesk.auth.staff import create_user
from trustdesk.cli import app
from trustdesk.cases.access import Reviewer
from trustdesk.config import Settings
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import Appellant
from trustdesk.dsa.period import Period
from trustdesk.dsa.transparency import as_csv, transparency_report
from trustdesk.enforcement.appeals import AppealRequest, Filer, file_appeal
from trustdesk.enforcement.decisions import DecisionRequest, decide_case, decide_subject
from trustdesk.policy_versions import publish_version
from trustdesk.store.models import Appeal, Decision, Policy, Report, utcnow
from trustdesk.web.app import create_app

@pytest.fixture
def period() -> Period:
    today = utcnow().date()
    return Period(today - timedelta(days=1), today)


def _at(period: Period, hours: float) -> datetime:
    return period.start + timedelta(hours=hours)


def _set(world: World, model: type, row_id: int, **values: Any) -> None:
    with world.db.session() as s:
        s.execute(update(model).where(model.id == row_id).values(**values))


@pytest.fixture
def figures(world: World, period: Period) -> World:
    """Three notices (a user's, a trusted flagger's on the same post, an anonymous one), one
    report by automation, one notice from before the period; five decisions, three of them on
    the platform's own initiative (one automated) and one a suspension; an appeal upheld after
    six hours; a notifier suspended."""
    with world.db.session() as s:
        publish_version(s, SETUP, "HARASSMENT", {"allowed_actions": [a.value for a in Action]})
    ids = world.add_subjects(
        account("acc"), account("acc2"), *(item(f"p{n}", "post", owner="acc") for n in range(1, 5)),
    )
    notice = {"dsa": {"explanation": "This insults me.", "good_faith": True}}
    r1, r2 = world.file(
        {"external_id": "r1", "subject_external_id": "p1", "policy_code": "HARASSMENT", "reporter_type": "user",
         "reporter_external_id": "acc2"} | notice,
        {"external_id": "r2", "subject_external_id": "p1", "policy_code": "HARASSMENT", "reporter_type": "trusted_flagger"},
    )
    [r3] = world.file({"external_id": "r3", "subject_external_id": "p2", "policy_code": "SPAM", "reporter_type": "anonymous"})
    [r4] = world.file({"external_id": "r4", "subject_external_id": "p3", "policy_code": "SPAM", "reporter_type": "automated"})
    [old] = world.file({"external_id": "old", "subject_external_id": "acc", "policy_code": "SPAM", "reporter_type": "user",
                        "reporter_external_id": "acc2"})
    for report_id, hours in ((r1, 0), (r2, 2), (r3, 0), (r4, 1)):
        _set(world, Report, report_id, received_at=_at(period, hours))
    _set(world, Report, old, received_at=_at(period, -24 * 40))

    alice = Reviewer(world.alice, ("moderator",))
    remove = DecisionRequest("HARASSMENT", verdict="violation", actions=["remove"], rationale="Insults.")
    decided: dict[str, int] = {}
    for post, reports in (("p1", [r1, r2]), ("p2", [r3]), ("p3", [r4])):
        case_id = world.open_case(ids[post], reports, claimed_by=world.alice)
        with world.db.session() as s:
            decided[post] = decide_case(s, alice, SETUP, case_id, remove).id
    with world.db.session() as s:
        decided["p4"] = decide_subject(s, SETUP, ids["p4"], remove, reviewer=alice).id
        suspend = DecisionRequest("HARASSMENT", verdict="violation", actions=["suspend"], params={"days": 7}, rationale="Repeated.")
        decided["acc2"] = decide_subject(s, SETUP, ids["acc2"], suspend, reviewer=alice).id
    for post, hours in (("p1", 4), ("p2", 10), ("p3", 3), ("p4", 5), ("acc2", 6)):
        _set(world, Decision, decided[post], created_at=_at(period, hours))
    _set(world, Decision, decided["p3"], automated_detection=True, automated_decision="fully")

    with world.db.session() as s:
        appeal, _ = file_appeal(s, Filer(SETUP, app_id=world.app_id), AppealRequest(Appellant.USER, "It was a joke.", decision_id=decided["p1"]),
                                window=timedelta(days=183))
        appeal_id = appeal.id
        record(s, actor=SETUP, verb="notifier.suspended", object_type="notifier", object_id="n1", after={"suspended": True})
    _set(world, Appeal, appeal_id, created_at=_at(period, 12), outcome="upheld", decided_at=_at(period, 18))
    return world


EXPECTED_NOTICES = {
    "total": 3, "by_source": {"anonymous": 1, "trusted_flagger": 1, "user": 1}, "trusted_flagger": 1,
    "decided": 3, "median_hours_to_decision": 4.0,
}


def test_each_figure_counts_what_happened_in_the_period(figures: World, period: Period) -> None:
    with figures.db.reader() as s:
        report = transparency_report(s, period).as_json()

    spam = figures.policy("SPAM").dsa_category
    assert report["notices"] == EXPECTED_NOTICES | {"by_category": {"STATEMENT_CATEGORY_CYBER_VIOLENCE": 2, spam: 1}}
    assert report["decisions"] == {
        "total": 5, "own_initiative": 3, "automated_detection": 1,
        "automated_decision": {"fully": 1, "partially": 0, "not_automated": 4},
        "automated_detection_share": 0.2, "automated_decision_share": 0.2,
    }
    assert report["appeals"] == {"filed": 1, "by_appellant": {"user": 1}, "decided": {"upheld": 1, "overturned": 0},
                                 "median_hours_to_outcome": 6.0}
    assert report["suspensions"] == {"accounts": {"suspend": 1, "ban": 0}, "notifiers": 1}
    assert report["statements_of_reasons"] == {"stored": 5, "by_submission": {"pending": 5}}
    assert (report["since"], report["until"]) == (period.since.isoformat(), period.until.isoformat())


def test_a_notice_reopened_by_an_overturned_appeal_keeps_its_first_decision_in_the_figures(world: World, period: Period) -> None:
    ids = world.add_subjects(account("acc"), account("acc2"), item("p1", "post", owner="acc"))
    [notice] = world.file({"external_id": "r1", "subject_external_id": "p1", "policy_code": "HARASSMENT", "reporter_type": "user",
                           "reporter_external_id": "acc2", "dsa": {"explanation": "This insults me.", "good_faith": True}})
    _set(world, Report, notice, received_at=_at(period, 1))
    case_id = world.open_case(ids["p1"], [notice], claimed_by=world.alice)
    with world.db.session() as s:
        decision = decide_case(s, Reviewer(world.alice, ("moderator",)), SETUP, case_id,
                               DecisionRequest("HARASSMENT", verdict="no_violation", rationale="Banter.")).id
    _set(world, Decision, decision, created_at=_at(period, 3))
    with world.db.reader() as s:
        before = transparency_report(s, period).as_json()["notices"]
    assert (before["decided"], before["median_hours_to_decision"]) == (1, 2.0)

    with world.db.session() as s:  # the notifier's appeal is overturned: the notice goes back into a new, open case
        s.add(Appeal(app_id=world.app_id, appellant="notifier", statement="it is abuse", decision_id=decision, report_id=notice,
                     outcome="overturned", filed_by="test:setup", body_hash="x", created_at=_at(period, 30), decided_at=_at(period, 40)))
    _set(world, Report, notice, case_id=None, status="open")
    reopened = world.open_case(ids["p1"], [notice])
    assert reopened != case_id
    with world.db.reader() as s:
        after = transparency_report(s, period).as_json()["notices"]
    assert (after["decided"], after["median_hours_to_decision"]) == (1, 2.0)


def test_notices_keep_the_category_of_the_policy_version_they_came_in_under(figures: World, period: Period) -> None:
    with figures.db.session() as s:
        s.execute(update(Policy).values(created_at=period.start - timedelta(days=1)))  # the catalogue was there before the period
        publish_version(s, Actor("staff", "admin"), "HARASSMENT",
                        {"dsa_category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "dsa_keywords": []})
    with figures.db.reader() as s:
        report = transparency_report(s, period).as_json()
    assert report["notices"]["by_category"] == {"STATEMENT_CATEGORY_CYBER_VIOLENCE": 2, figures.policy("SPAM").dsa_category: 1}


def test_a_period_with_nothing_in_it_has_zeros_and_no_medians(figures: World, period: Period) -> None:
    with figures.db.reader() as s:
        report = transparency_report(s, Period(period.since - timedelta(days=400), period.since - timedelta(days=300))).as_json()
    assert report["notices"] == {"total": 0, "by_category": {}, "by_source": {}, "trusted_flagger": 0, "decided": 0,
                                 "median_hours_to_decision": None}
    assert report["decisions"]["total"] == 0 and report["decisions"]["automated_decision_share"] is None
    assert report["appeals"]["median_hours_to_outcome"] is None


def test_the_csv_has_one_row_per_figure(figures: World, period: Period) -> None:
    with figures.db.reader() as s:
        rows = list(csv.reader(io.StringIO(as_csv(transparency_report(s, period)))))
    assert rows[:3] == [["section", "measure", "value"], ["period", "since", period.since.isoformat()],
                        ["period", "until", period.until.isoformat()]]
    assert ["notices", "by_source.trusted_flagger", "1"] in rows
    assert ["notices", "median_hours_to_decision", "4.0"] in rows
    assert ["suspensions", "notifiers", "1"] in rows
    assert ["decisions", "automated_decision.fully", "1"] in rows


def _staff(api: Api, settings: Settings, role: str) -> int:
    with api.db.session() as s:
        return create_user(s, SETUP, settings, username=f"u-{role}", password="long-enough-password", roles=[role], with_totp=False).id


@pytest.mark.parametrize("role", ["analyst", "legal", "admin"])
def test_the_api_gives_the_report_to_analysts_legal_and_admins(figures: World, period: Period, settings: Settings, role: str) -> None:
    with TestClient(create_app(settings, figures.db)) as client:
        api = Api(client, figures.db, "", figures.app_id)
        headers = api.staff_token(_staff(api, settings, role))
        answer = client.get("/api/v1/transparency-report", params={"since": period.since.isoformat(), "until": period.until.isoformat()},
                            headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["notices"]["median_hours_to_decision"] == 4.0
        assert answer.json()["suspensions"]["notifiers"] == 1


def test_the_api_refuses_moderators_and_a_period_it_cannot_read(figures: World, settings: Settings) -> None:
    with TestClient(create_app(settings, figures.db)) as client:
        api = Api(client, figures.db, "", figures.app_id)
        moderator = api.staff_token(_staff(api, settings, "moderator"))
        assert client.get("/api/v1/transparency-report", params={"since": "2026-01-01"}, headers=moderator).status_code == 403
        analyst = api.staff_token(_staff(api, settings, "analyst"))
        reversed_period = client.get("/api/v1/transparency-report", params={"since": "2026-02-01", "until": "2026-01-01"}, headers=analyst)
        assert (reversed_period.status_code, reversed_period.json()["field"]) == (422, "until")
        bad_day = client.get("/api/v1/transparency-report", params={"since": "yesterday"}, headers=analyst)
        assert (bad_day.status_code, bad_day.json()["field"]) == (422, "since")


def test_the_console_page_draws_the_figures_as_svg_bars_and_offers_the_csv(figures: World, period: Period, settings: Settings) -> None:
    with TestClient(create_app(settings, figures.db)) as client:
        api = Api(client, figures.db, "", figures.app_id)
        api.open_console(settings, _staff(api, settings, "legal"))
        page = client.get("/transparency", params={"since": period.since.isoformat(), "until": period.until.isoformat()})
        assert page.status_code == 200
        assert 'data-testid="notices">3<' in page.text and 'data-testid="own-initiative">3<' in page.text
        assert "4.0 h (3 decided)" in page.text
        assert page.text.count("<svg") == 5 and "<script" not in page.text.split("<main", 1)[-1]
        assert '<rect x="220" y="4" width="320" height="16"' in page.text  # the largest bar of each chart
        assert "cyber violence" in page.text

        download = client.get("/transparency.csv", params={"since": period.since.isoformat(), "until": period.until.isoformat()})
        assert download.status_code == 200 and download.headers["content-type"] == "text/csv; charset=utf-8"
        assert download.headers["content-disposition"] == f'attachment; filename="transparency-{period.since}-{period.until}.csv"'
        assert "notices,trusted_flagger,1" in download.text

        refused = client.get("/transparency", params={"since": "2026-02-01", "until": "2026-01-01"})
        assert refused.status_code == 422 and "until: may not be before since" in refused.text


def test_the_command_prints_json_or_csv(figures: World, period: Period, cli_env: Settings) -> None:
    args = ("dsa", "transparency", "--since", period.since.isoformat(), "--until", period.until.isoformat())
    printed = runner.invoke(app, [*args, "--format", "json"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["notices"] == EXPECTED_NOTICES | {
        "by_category": {"STATEMENT_CATEGORY_CYBER_VIOLENCE": 2, figures.policy("SPAM").dsa_category: 1}}
    assert "notices,trusted_flagger,1" in run_command(*args, "--format", "csv")
