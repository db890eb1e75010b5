"""The CyberTipline page in the console, against the sandbox over real HTTP: a child-safety
reviewer builds the report, reads its XML and validation, submits it, and sees its state and
NCMEC's report id on the case; a refusal is kept and shown; other roles are turned away."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.ncmec.sandbox import Tipline
from tests.ncmec.test_reports import _child_safety_case
from tests.web.office import Office
from trustdesk.config import Settings


@pytest.fixture
def settings(settings: Settings, tipline: Tipline) -> Settings:
    """The app files its reports with the test's sandbox."""
    return dataclasses.replace(settings, ncmec=tipline.settings())


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

    filed = _post(office, f"/cases/{case_id}/ncmec/submit", csrf)
    assert (filed.status_code, filed.headers["location"]) == (303, f"/cases/{case_id}/ncmec?notice=filed")
    [report_id] = tipline.state.reports
    assert tipline.held(report_id)["state"] == "finished"
    page = office.api.client.get(filed.headers["location"]).text
    assert re.search(r'data-testid="ncmec-state">finished<', page) and f'data-testid="ncmec-report-id">{report_id}<' in page
    assert 'data-testid="ncmec-submit-form"' not in page and 'data-testid="ncmec-build-form"' not in page
    case_page = office.api.client.get(f"/cases/{case_id}").text
    assert 'data-testid="ncmec-case-state">finished<' in case_page and f'data-testid="ncmec-case-report-id">{report_id}<' in case_page


def test_a_refusal_is_kept_on_the_report_and_submitting_again_resumes(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    csrf = office.log_in("cara")
    assert _post(office, f"/cases/{case_id}/ncmec/build", csrf).status_code == 303
    tipline.fail(1100, 4)  # more than the client's attempts
    refused = _post(office, f"/cases/{case_id}/ncmec/submit", csrf)
    assert (refused.status_code, refused.headers["location"]) == (303, f"/cases/{case_id}/ncmec?notice=refused")
    page = office.api.client.get(refused.headers["location"]).text
    assert re.search(r'data-testid="ncmec-state">failed<', page) and "submit (code 1100): Report could not be saved" in page
    assert tipline.state.reports == {}
    filed = _post(office, f"/cases/{case_id}/ncmec/submit", csrf)
    assert filed.headers["location"] == f"/cases/{case_id}/ncmec?notice=filed"
    assert len(tipline.state.reports) == 1


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
