"""The console under its Content-Security-Policy in a real browser: the main pages and /docs load
with no violation and their scripts work, and an uploaded SVG that tries to run script runs none
in the console's origin, however it is opened.

Runs Debian's chromium through Playwright against uvicorn serving a migrated SQLite database.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Error, Page, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, log_in, serving, violations
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.demo.images import render_photo
from trustdesk.domain.vocabulary import ReporterType, Role, Scope, SubjectKind
from trustdesk.ingest import intake, media
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import Case, Queue
from trustdesk.web.security_headers import CONSOLE_CSP

PASSWORD = "long enough password"
SEED = Actor("test", "seed")
# Were any of this to run in the console's origin, it would leave a mark there.
SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="localStorage.setItem('pwned', 'onload')">
  <rect width="40" height="40" fill="red"/>
  <script>localStorage.setItem('pwned', 'script'); window.name = 'pwned'; document.title = 'pwned';</script>
</svg>"""

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    subjects: dict[str, int]
    token: str

    def case_of(self, external_id: str) -> int:
        with self.db.reader() as session:
            return session.execute(select(Case.id).where(Case.subject_id == self.subjects[external_id])).scalar_one()


def _seed(db: Database, settings: Settings) -> tuple[dict[str, int], str]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        app = ensure_app(session, SEED, "market", "Marketplace")
        _client, token = api_clients.create_client(session, SEED, app, "backend", list(Scope))
        who = intake.Submitter(app_id=app.id, actor=SEED)
        receipts = intake.create_subjects(session, who, [
            SubjectIn(external_id="acc-1", kind=SubjectKind.ACCOUNT),
            SubjectIn(external_id="photo-1", kind=SubjectKind.PHOTO, account_external_id="acc-1"),
            SubjectIn(external_id="svg-1", kind=SubjectKind.PHOTO, account_external_id="acc-1"),
            SubjectIn(external_id="shop-1", kind=SubjectKind.SHOP, account_external_id="acc-1", title="Bargain Bags"),
            SubjectIn(external_id="listing-1", kind=SubjectKind.LISTING, parent_external_id="shop-1", title="Bag one"),
        ])
        intake.attach_media(session, who, "photo-1", media.check_and_store(FileBlobStore(settings.blob_dir), io.BytesIO(render_photo(3))))
        intake.file_reports(session, who, [
            ReportIn(external_id="r1", subject_external_id="photo-1", policy_code="HARASSMENT", reporter_type=ReporterType.ANONYMOUS),
            ReportIn(external_id="r2", subject_external_id="svg-1", policy_code="SPAM", reporter_type=ReporterType.ANONYMOUS),
        ])
        staff.create_user(session, SEED, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia")
        staff.create_user(session, SEED, settings, username="sue", password=PASSWORD, roles=[Role.SENIOR], display_name="Sue")
    return {r.external_id: r.id for r in receipts}, token


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving(tmp_path, _seed) as (base, db, (subjects, token)):
        yield Site(base, db, subjects, token)


def test_the_main_pages_and_docs_load_under_the_policy_with_working_scripts(site: Site, browser: Browser) -> None:
    problems: list[str] = []
    page = log_in(browser, site.url, "/", "sue", PASSWORD, problems)
    with site.db.reader() as session:
        queue_id = session.execute(select(Queue.id).where(Queue.name == "General")).scalar_one()
    case_id = site.case_of("photo-1")
    paths = ["/", "/queues", f"/queues/{queue_id}", f"/cases/{case_id}", f"/subjects/{site.subjects['photo-1']}", "/policies",
             "/bulk", f"/subjects/{site.subjects['shop-1']}/cascade?kind=cascade_takedown", "/docs"]
    for path in paths:
        response = page.goto(site.url + path)
        assert response is not None and response.status == 200, path
        assert response.headers["content-security-policy"] == CONSOLE_CSP, path
        page.wait_for_load_state("networkidle")
        if path == "/":
            assert page.evaluate("window.htmx.config.includeIndicatorStyles") is False
            assert page.evaluate("document.querySelectorAll('style').length") == 0  # htmx injected nothing
        if path == f"/cases/{case_id}":
            page.keyboard.press("?")  # the shortcuts help, from review.js
            expect(page.locator("#shortcuts")).to_be_visible()
            page.keyboard.press("?")
            expect(page.locator("#shortcuts")).to_be_hidden()
            page.keyboard.press("r")  # reveal the first blurred media item
            expect(page.locator("figure.media").first).to_have_class("media revealed")
        if path == "/docs":
            expect(page.locator(".opblock").first).to_be_visible()  # Swagger UI rendered the operations
            assert page.locator(".opblock").count() > 20
            page.locator(".opblock-summary", has_text="/api/v1/subjects/batch").click()  # opens, with highlighted examples
            expect(page.get_by_role("button", name="Try it out")).to_be_visible()
        assert violations(page) == [], path
    assert problems == []


def _assert_nothing_ran(page: Page, title: str) -> None:
    """No mark in the console origin's storage, and no tab renamed or retitled by the file."""
    assert page.evaluate("localStorage.getItem('pwned')") is None
    for tab in page.context.pages:
        assert tab.evaluate("window.name") != "pwned" and tab.title() != "pwned", tab.url
    assert page.title() == title


def test_an_uploaded_svg_with_script_runs_nothing_in_the_console(site: Site, browser: Browser) -> None:
    uploaded = httpx.post(
        f"{site.url}/api/v1/subjects/svg-1/media", files={"file": ("cute.svg", SVG, "image/svg+xml")},
        headers={"Authorization": f"Bearer {site.token}"},
    )
    assert uploaded.status_code == 200, uploaded.text
    [item] = uploaded.json()["media"]
    assert (item["content_type"], item["inline"]) == ("application/octet-stream", False)
    media_url = f"{site.url}/subjects/{site.subjects['svg-1']}/media/{item['id']}"

    problems: list[str] = []
    page = log_in(browser, site.url, "/", "mia", PASSWORD, problems)
    for path in (f"/cases/{site.case_of('svg-1')}", f"/subjects/{site.subjects['svg-1']}"):
        page.goto(site.url + path)
        title = page.title()
        embedded = page.locator(f'img[src*="/media/{item["id"]}"], object, embed, iframe, video, audio')
        expect(embedded).to_have_count(0)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the attached file").first.click()
        assert download.value.suggested_filename == f"subject-{site.subjects['svg-1']}-media-{item['id']}.bin"
        _assert_nothing_ran(page, title)

    with page.expect_download():  # typed in or opened from a link: still a download, never a page
        try:
            page.goto(media_url)
        except Error:
            pass  # the navigation turned into a download
    _assert_nothing_ran(page, page.title())
    assert not page.url.startswith(media_url)
    assert problems == []
