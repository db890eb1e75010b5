"""The search box in a real browser: typed on the home page, it finds a report by words and opens
its case, and goes straight to a subject given its external id; the page keeps to the CSP."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import NEEDS_CHROMIUM, log_in, serving, violations
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import ReporterType, Role, SubjectKind
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


def _seed(db: Database, settings: Settings) -> None:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "market", "Market").id, actor=SEED)
        intake.create_subjects(session, who, [
            SubjectIn(external_id="seller-7", kind=SubjectKind.ACCOUNT),
            SubjectIn(external_id="listing-7", kind=SubjectKind.LISTING, account_external_id="seller-7", title="Designer handbag"),
        ])
        intake.file_reports(session, who, [ReportIn(external_id="rep-7", subject_external_id="listing-7", policy_code="COUNTERFEIT",
                                                    reporter_type=ReporterType.ANONYMOUS, text="The stitching shows a counterfeit logo")])
        staff.create_user(session, SEED, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia")


def test_typing_in_the_search_box(tmp_path: Path, browser: Browser) -> None:
    problems: list[str] = []
    with serving(tmp_path, _seed) as (base, _db, _seeded):
        page = log_in(browser, base, "/", "mia", PASSWORD, problems)
        box = page.get_by_role("searchbox", name="Search")
        box.fill("stitching logo")
        box.press("Enter")
        expect(page).to_have_url(f"{base}/search?q=stitching+logo")
        result = page.get_by_role("link", name="Report rep-7")
        expect(result).to_be_visible()
        result.click()
        expect(page).to_have_url(f"{base}/cases/1")

        box = page.get_by_role("searchbox", name="Search")  # on every page
        box.fill("seller-7")
        box.press("Enter")
        expect(page).to_have_url(f"{base}/subjects/1")
        expect(page.get_by_role("heading", name="Account seller-7")).to_be_visible()
        assert violations(page) == [] and problems == []
