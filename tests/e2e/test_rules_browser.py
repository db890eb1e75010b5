"""Rules in a real browser: an admin writes a shadow rule in the console (a refused save keeps
every edit), the host platform files reports through the API, and the backtest page shows the
rule's would-be matches, linking to the subjects, next to the hits it recorded in shadow.

Runs Debian's chromium through Playwright against uvicorn serving a migrated SQLite database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, serving, violations, watch
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_client
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role, Scope
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import Subject

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    token: str
    admin_totp: str

    def api(self, path: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"}, json=body)


def _seed(db: Database, settings: Settings) -> tuple[str, str]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        app = ensure_app(session, SEED, "market", "Marketplace")
        _client, token = create_client(session, SEED, app, "market-backend", list(Scope))
        admin = staff.create_user(session, SEED, settings, username="root", password=PASSWORD, roles=[Role.ADMIN], display_name="Root")
        assert admin.totp_secret
    return token, admin.totp_secret


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving(tmp_path, _seed) as (base, db, (token, secret)):
        yield Site(base, db, token, secret)


def test_an_admin_writes_a_shadow_rule_and_backtests_it_on_reports_filed_through_the_api(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = watch(browser.new_page(viewport={"width": 1360, "height": 1000}), errors)
    page.goto(site.url + "/rules/new")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(site.admin_totp).now())
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site.url + "/rules/new")

    page.locator('input[name="name"]').fill("parcel_fee")
    page.locator('select[name="mode"]').select_option("shadow")
    page.locator('textarea[name="expression"]').fill("subject.text.contains('parcel fee')")
    page.locator('textarea[name="effects"]').fill('[{"type": "route", "queue": "Scam desk"}]')
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("field-error")).to_have_text("effects[0].queue: no active queue named 'Scam desk'")
    expect(page.locator('input[name="name"]')).to_have_value("parcel_fee")
    expect(page.locator('textarea[name="expression"]')).to_have_value("subject.text.contains('parcel fee')")
    page.locator('textarea[name="effects"]').fill('[{"type": "label", "label": "parcel-fee"}]')
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Saved as version 1")
    expect(page.get_by_test_id("mode")).to_have_text("shadow")

    items = [{"external_id": "seller", "kind": "account"}] + [
        {"external_id": f"msg-{n}", "kind": "message", "account_external_id": "seller", "text": text}
        for n, text in enumerate(["pay the parcel fee in bitcoin", "see you at noon", "one more parcel fee, please"])]
    assert site.api("/api/v1/subjects/batch", {"items": items}).status_code == 200
    for n in range(3):
        filed = site.api("/api/v1/reports", {"external_id": f"r-{n}", "subject_external_id": f"msg-{n}", "policy_code": "SCAM",
                                             "reporter_type": "anonymous"})
        assert filed.status_code == 201, filed.text
    with site.db.reader() as session:
        ids = dict(session.execute(select(Subject.external_id, Subject.id)).all())

    page.goto(site.url + "/rules")
    expect(page.locator("#rule-parcel_fee").get_by_test_id("shadow-hits")).to_have_text("2")
    page.goto(site.url + "/rules/parcel_fee")
    page.get_by_role("link", name="Backtest").first.click()
    expect(page.get_by_test_id("replayed")).to_have_text("3")
    expect(page.get_by_test_id("matched")).to_have_text("2")
    expect(page.get_by_test_id("recorded")).to_have_text("0")  # a shadow rule records no live hits
    added = page.get_by_test_id("added-subjects")
    expect(added.get_by_role("link")).to_have_text([f"subject {ids['msg-0']}", f"subject {ids['msg-2']}"])
    added.get_by_role("link", name=f"subject {ids['msg-2']}").click()
    expect(page).to_have_url(f"{site.url}/subjects/{ids['msg-2']}")
    assert errors == [] and violations(page) == []
