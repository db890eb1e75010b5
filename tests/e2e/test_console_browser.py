"""The console in a real browser against a real server: login, live counts, audited reveal, logout.

Runs Debian's chromium through Playwright (never a downloaded browser) against uvicorn serving
a migrated SQLite database. The count update waits for the page's own `every 10s` htmx poll.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, serving, watch
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import ReporterType, Role, SubjectKind
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import PersonalFields, ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent

PASSWORD = "long enough password"
EMAIL = "acc-1@example.org"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    submitter: intake.Submitter
    account_id: int

    def file_report(self, external_id: str, subject: str, policy: str) -> None:
        report = ReportIn(external_id=external_id, subject_external_id=subject, policy_code=policy, reporter_type=ReporterType.ANONYMOUS)
        with self.db.session() as session:
            intake.file_reports(session, self.submitter, [report])


def _seed(db: Database, settings: Settings) -> tuple[intake.Submitter, int]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        submitter = intake.Submitter(app_id=ensure_app(session, SEED, "dating", "Dating").id, actor=SEED)
        receipts = intake.create_subjects(session, submitter, [
            SubjectIn(external_id="acc-1", kind=SubjectKind.ACCOUNT, country="DE", personal=PersonalFields(email=EMAIL)),
            SubjectIn(external_id="acc-2", kind=SubjectKind.ACCOUNT),
            SubjectIn(external_id="post-1", kind=SubjectKind.POST, account_external_id="acc-1", text="Buy followers now"),
        ])
        staff.create_user(session, SEED, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia Moderator")
    return submitter, receipts[0].id


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving(tmp_path, _seed) as (base, db, (submitter, account_id)):
        site = Site(base, db, submitter, account_id)
        for n, (subject, policy) in enumerate([("post-1", "SPAM"), ("post-1", "SPAM"), ("acc-1", "SCAM")]):
            site.file_report(f"r{n}", subject, policy)
        yield site


def _open_count(page: Page, policy: str) -> Locator:
    return page.locator(f'tr[data-policy="{policy}"] td.num')


def test_console_in_a_real_browser(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = watch(browser.new_page(viewport={"width": 1280, "height": 860}), errors)

    page.goto(site.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(site.url + "/")
    expect(page.get_by_role("heading", name="Good to see you, Mia Moderator")).to_be_visible()
    expect(page.get_by_test_id("open-total")).to_have_text("3")
    expect(_open_count(page, "SPAM")).to_have_text("2")
    expect(_open_count(page, "SCAM")).to_have_text("1")
    expect(page.get_by_test_id("subjects-total")).to_have_text("3")

    site.file_report("r-live", "acc-2", "HARASSMENT")
    # No reload: the page's own htmx poll (every 10 s) must bring the new numbers.
    expect(page.get_by_test_id("open-total")).to_have_text("4", timeout=15_000)
    expect(_open_count(page, "HARASSMENT")).to_have_text("1")

    page.goto(f"{site.url}/subjects/{site.account_id}")
    expect(page.get_by_role("heading", name="Account acc-1")).to_be_visible()
    expect(page.get_by_text("Personal data (email) is hidden.")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(EMAIL)
    page.get_by_placeholder("Why you need it").fill("checking a scam report")
    page.get_by_role("button", name="Reveal (audited)").click()
    expect(page.locator("#personal")).to_contain_text(EMAIL)
    with site.db.reader() as session:
        reveal = session.execute(select(AuditEvent).where(AuditEvent.verb == "subject.personal_revealed")).scalar_one()
    assert (reveal.actor_id, reveal.object_id) == ("mia", str(site.account_id))
    assert reveal.after == {"fields": ["email"], "reason": "checking a scam report"}

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(site.url + "/login")
    page.goto(site.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    assert errors == []
