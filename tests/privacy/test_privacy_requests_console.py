"""The console's privacy pages: the deadline dashboard with breaches marked, intake whose
errors come back on the form, and refusals shown as pages naming what is wrong."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD_HASHING, Api
from tests.evidence.conftest import Held
from trustdesk.auth.passwords import hash_password
from trustdesk.config import Settings
from trustdesk.privacy import access_export
from trustdesk.store.models import AuditEvent, StaffUser

INTAKE = {"app": "dating", "subject": "acc-1", "regime": "lgpd", "request_type": "access", "requester_name": "Mara",
          "requester_contact": "mara@example.org", "received_on": "2026-01-05"}


def _privacy_officer(api: Api, settings: Settings) -> dict[str, str]:
    with api.db.session() as s:
        user = StaffUser(username="priya", display_name="Priya", password_hash=hash_password("x" * 16, TEST_PASSWORD_HASHING), roles=["privacy"])
        s.add(user)
        s.flush()
        user_id = user.id
    return api.open_console(settings, user_id)


def test_intake_then_the_dashboard_marks_the_breach(world: Held, settings: Settings) -> None:
    api = world.api
    csrf = _privacy_officer(api, settings)
    r = api.client.post("/privacy-requests", data=INTAKE, headers=csrf, follow_redirects=False)
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/privacy-requests/(\d+)\?notice=received", r.headers["location"])
    assert found
    request_id = int(found.group(1))
    page = api.client.get("/privacy-requests")
    assert page.status_code == 200
    row = re.search(rf'<tr id="privacy-request-{request_id}" class="breached" data-breached="yes">.*?</tr>', page.text, re.S)
    assert row and "2026-01-20" in row.group(0) and "breached" in row.group(0)  # LGPD: 15 days
    page = api.client.get(f"/privacy-requests/{request_id}")
    assert page.status_code == 200 and 'data-testid="breached"' in page.text


def test_intake_errors_come_back_on_the_form(world: Held, settings: Settings) -> None:
    csrf = _privacy_officer(world.api, settings)
    r = world.api.client.post("/privacy-requests", data=INTAKE | {"subject": "post-1"}, headers=csrf, follow_redirects=False)
    assert r.status_code == 422
    assert "post-1" in r.text and 'data-testid="error"' in r.text and 'value="mara@example.org"' in r.text


def test_an_extension_the_regime_does_not_allow_is_a_page_saying_so(world: Held, settings: Settings) -> None:
    csrf = _privacy_officer(world.api, settings)
    r = world.api.client.post("/privacy-requests", data=INTAKE, headers=csrf, follow_redirects=False)
    path = r.headers["location"].split("?")[0]
    r = world.api.client.post(f"{path}/extend", data={"reason": "complex"}, headers=csrf | {"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 422
    assert "no extension is allowed" in r.text and "<html" in r.text.lower()


def _taken_in(world: Held, csrf: dict[str, str], **changes: str) -> str:
    r = world.api.client.post("/privacy-requests", data=INTAKE | changes, headers=csrf, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].split("?")[0]


def test_a_ccpa_receipt_to_confirm_shows_on_the_dashboard_late_in_red_until_recorded(world: Held, settings: Settings) -> None:
    csrf = _privacy_officer(world.api, settings)
    path = _taken_in(world, csrf, regime="ccpa", request_type="know", received_on="2026-01-02")
    request_id = path.rsplit("/", 1)[1]
    row = re.search(rf'<tr id="privacy-request-{request_id}".*?</tr>', world.api.client.get("/privacy-requests").text, re.S)
    assert row and 'data-testid="confirmation" data-breached="yes"' in row.group(0) and "2026-01-16" in row.group(0)
    page = world.api.client.get(path)
    assert 'data-testid="confirmation-breached"' in page.text and 'data-testid="confirm-form"' in page.text
    r = world.api.client.post(f"{path}/confirm-receipt", data={"how": "email to mara@example.org"}, headers=csrf, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=confirmed")
    page = world.api.client.get(path)
    assert "confirmed by staff:priya" in page.text and 'data-testid="confirm-form"' not in page.text
    row = re.search(rf'<tr id="privacy-request-{request_id}".*?</tr>', world.api.client.get("/privacy-requests").text, re.S)
    assert row and 'data-testid="confirmation"' not in row.group(0)


def test_a_rectification_asks_for_the_statement_and_a_restriction_is_lifted_from_its_page(world: Held, settings: Settings) -> None:
    csrf = _privacy_officer(world.api, settings)
    html = csrf | {"Accept": "text/html"}
    fix = _taken_in(world, csrf, regime="gdpr", request_type="rectification")
    world.api.client.post(f"{fix}/verify", data={"outcome": "verified", "note": "signed in"}, headers=csrf)
    assert 'name="statement"' in world.api.client.get(fix).text
    r = world.api.client.post(f"{fix}/complete", data={"answer": "Noted."}, headers=html, follow_redirects=False)
    assert r.status_code == 422 and "statement" in r.text
    r = world.api.client.post(f"{fix}/complete", data={"answer": "Noted.", "statement": "I moved to Lisbon."}, headers=csrf,
                              follow_redirects=False)
    assert r.status_code == 303
    assert 'data-testid="statement">I moved to Lisbon.' in world.api.client.get(fix).text
    hold = _taken_in(world, csrf, regime="gdpr", request_type="restriction")
    world.api.client.post(f"{hold}/verify", data={"outcome": "verified", "note": "signed in"}, headers=csrf)
    assert world.api.client.post(f"{hold}/complete", data={"answer": "Restricted."}, headers=csrf, follow_redirects=False).status_code == 303
    page = world.api.client.get(hold)
    assert "Restriction in force" in page.text and 'data-testid="lift-form"' in page.text
    r = world.api.client.post(f"{hold}/lift", data={"reason": "accuracy checked"}, headers=csrf, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=lifted")
    page = world.api.client.get(hold)
    assert "Restriction lifted by staff:priya" in page.text and 'data-testid="lift-form"' not in page.text
    r = world.api.client.post(f"{hold}/lift", data={"reason": "again"}, headers=html, follow_redirects=False)
    assert r.status_code == 409 and "lifted already" in r.text


def _exports_on_record(world: Held) -> int:
    with world.api.db.reader() as s:
        return len(s.execute(select(AuditEvent).where(AuditEvent.verb == "privacy_request.exported")).scalars().all())


def test_an_export_is_recorded_once_built_and_one_that_could_not_be_built_is_not(world: Held, settings: Settings,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    csrf = _privacy_officer(world.api, settings)
    path = _taken_in(world, csrf, regime="gdpr", request_type="access")
    r = world.api.client.post(f"{path}/export", headers=csrf | {"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 409 and "verify the requester" in r.text
    world.api.client.post(f"{path}/verify", data={"outcome": "verified", "note": "signed in"}, headers=csrf)

    def broken(*_args: object) -> list[str]:
        raise OSError("no space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(access_export, "write_export", broken)
        assert world.api.client.post(f"{path}/export", headers=csrf, follow_redirects=False).status_code == 500
    assert _exports_on_record(world) == 0
    r = world.api.client.post(f"{path}/export", headers=csrf, follow_redirects=False)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as package:
        assert "account_and_content.json" in package.namelist()
    assert _exports_on_record(world) == 1
