"""The CyberTipline page in the console, against the sandbox over real HTTP: a child-safety
reviewer builds the report, reads its XML and validation, submits it (queued once, for the
worker), and sees it filed with NCMEC's report id on the case; a refusal is kept and shown with
its code; other roles are turned away."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.ncmec.sandbox import Tipline
from tests.ncmec.test_reports import _child_safety_case
from tests.web.office import Office
from trustdesk.config import Settings
from trustdesk.jobs.worker import run_worker


@pytest.fixture
def settings(settings: Settings, tipline: Tipline) -> Settings:
    """The app files its reports with the test's sandbox."""
    return dataclasses.replace(settings, ncmec=tipline.settings())


def _work(office: Office, tipline: Tipline, **ncmec: str) -> None:
    settings = dataclasses.replace(office.settings, ncmec=dataclasses.replace(tipline.settings(), **ncmec))
    run_worker(office.api.db, settings, worker_id="w", once=True)


def _post(office: Office, path: str, csrf: str) -> object:
    return office.api.client.post(path, data={"csrf_token": csrf}, follow_redirects=False)


def test_a_child_safety_reviewer_builds_checks_and_files_a_report(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    csrf = office.log_in("cara")
    case_page = office.api.client.get(f"/cases/{case_id}").text
    assert 'data-testid="ncmec-panel"' in case_page and "No report yet." in case_page

    built = _post(office, f"/cases/{case_id}/ncmec/build", csrf)
    assert (built.status_code, built.headers["location"]) == (303, f"/cases/{case_id}/ncmec?notice=built")
    page = office.api.client.get(built.headers["location"])
    assert page.status_code == 200
    assert 'data-testid="ncmec-valid"' in page.text and "&lt;espIdentifier&gt;acc-9&lt;/espIdentifier&gt;" in page.text
    assert re.search(r'data-testid="ncmec-state">draft<', page.text)
    assert f"<code>{tipline.url}</code>" in page.text and "<strong>sandbox</strong>" in page.text

    queued = _post(office, f"/cases/{case_id}/ncmec/submit", csrf)
    assert (queued.status_code, queued.headers["location"]) == (303, f"/cases/{case_id}/ncmec?notice=queued")
    page = office.api.client.get(queued.headers["location"]).text
    assert re.search(r'data-testid="ncmec-state">queued<', page) and 'data-testid="ncmec-in-flight"' in page
    assert 'data-testid="ncmec-submit-form"' not in page and tipline.state.reports == {}
    again = _post(office, f"/cases/{case_id}/ncmec/submit", csrf)
    assert again.status_code == 409 and "already being submitted" in again.text

    _work(office, tipline)
    [report_id] = tipline.state.reports
    assert tipline.held(report_id)["state"] == "finished"
    page = office.api.client.get(f"/cases/{case_id}/ncmec").text
    assert re.search(r'data-testid="ncmec-state">filed<', page) and f'data-testid="ncmec-report-id">{report_id}<' in page
    assert 'data-testid="ncmec-submit-form"' not in page and 'data-testid="ncmec-build-form"' not in page
    case_page = office.api.client.get(f"/cases/{case_id}").text
    assert 'data-testid="ncmec-case-state">filed<' in case_page and f'data-testid="ncmec-case-report-id">{report_id}<' in case_page


def test_a_refusal_is_shown_with_its_code_and_submitting_again_files_the_report(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    csrf = office.log_in("cara")
    assert _post(office, f"/cases/{case_id}/ncmec/build", csrf).status_code == 303
    assert _post(office, f"/cases/{case_id}/ncmec/submit", csrf).status_code == 303
    _work(office, tipline, password="not the password")
    page = office.api.client.get(f"/cases/{case_id}/ncmec").text
    assert re.search(r'data-testid="ncmec-state">failed<', page) and "submit (code 3000): Not authorized" in page
    assert 'data-testid="ncmec-submit-form"' in page and tipline.state.reports == {}
    assert _post(office, f"/cases/{case_id}/ncmec/submit", csrf).headers["location"] == f"/cases/{case_id}/ncmec?notice=queued"
    _work(office, tipline)
    assert len(tipline.state.reports) == 1
    assert re.search(r'data-testid="ncmec-state">filed<', office.api.client.get(f"/cases/{case_id}/ncmec").text)


def test_a_case_under_no_child_safety_policy_makes_no_report(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office, "photo-spam", policy="SPAM")
    csrf = office.log_in("cara")
    assert 'data-testid="ncmec-panel"' not in office.api.client.get(f"/cases/{case_id}").text
    refused = _post(office, f"/cases/{case_id}/ncmec/build", csrf)
    assert refused.status_code == 422 and "maps to no NCMEC incident type" in refused.text


def test_only_child_safety_staff_reach_the_page(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    office.log_in("sue")
    assert office.api.client.get(f"/cases/{case_id}/ncmec").status_code == 403
    office.log_in("cara")
    assert office.api.client.get(f"/cases/{case_id + 1000}/ncmec").status_code == 404
