"""Console error pages in a real browser: they load their style and scripts under the strict
Content-Security-Policy with no violation, and their way back leads into the console."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import NEEDS_CHROMIUM, log_in, serving, violations, watch
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.store.database import Database

PASSWORD = "long enough password"

pytestmark = NEEDS_CHROMIUM


def _seed(db: Database, settings: Settings) -> None:
    with db.session() as session:
        staff.create_user(session, Actor("test", "seed"), settings, username="mia", password=PASSWORD,
                          roles=[Role.MODERATOR], display_name="Mia")


def test_a_404_page_shows_with_no_csp_violation_and_leads_back(browser: Browser, tmp_path: Path) -> None:
    problems: list[str] = []
    with serving(tmp_path, _seed) as (url, _db, _seeded):
        anonymous = watch(browser.new_page(), problems)
        response = anonymous.goto(url + "/no-such-page")
        assert response is not None and response.status == 404
        expect(anonymous.get_by_role("heading", name="Not found")).to_be_visible()
        assert violations(anonymous) == []
        anonymous.get_by_role("link", name="Log in").click()
        expect(anonymous).to_have_url(url + "/login")

        page = log_in(browser, url, "/queues", "mia", PASSWORD, problems)
        response = page.goto(url + "/cases/987654")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("case_id")
        # The page's own stylesheet applied: the way back is laid out in a row.
        assert page.locator(".way-back").evaluate("e => getComputedStyle(e).display") == "flex"
        assert violations(page) == []
        page.get_by_role("link", name="Queues", exact=True).last.click()
        expect(page).to_have_url(url + "/queues")
    assert problems == []
