"""In a browser: a child-safety reviewer opens a CSAM case, looks at its media (recorded as
viewed), builds the CyberTipline report, sees that its XML validates, submits it to the local
sandbox, sees it queued until the worker files it, and finds the report filed, with NCMEC's
report id, on the case page."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from lxml import etree
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, serving, watch
from tests.ncmec.sandbox import Tipline, serving_tipline
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.demo.images import render_photo
from trustdesk.domain.vocabulary import (
    AccountEventKind,
    ReporterType,
    Role,
    SubjectKind,
)
from trustdesk.ingest import intake, media
from trustdesk.ingest.schemas import AccountEventIn, ReportIn, SubjectIn
from trustdesk.jobs.worker import run_worker
from trustdesk.ncmec import schema
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import Case, MediaItem

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    tipline: Tipline
    db: Database
    settings: Settings
    case_id: int
    subject_id: int
    item_id: int
    totp: str


def _seed(db: Database, settings: Settings) -> tuple[Settings, int, int, int, str]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "dating", "Dating").id, actor=SEED)
        intake.create_subjects(session, who, [
            SubjectIn(external_id="acc-9", kind=SubjectKind.ACCOUNT, title="sunny"),
            SubjectIn(external_id="photo-9", kind=SubjectKind.PHOTO, account_external_id="acc-9"),
        ])
        intake.attach_media(session, who, "photo-9", media.check_and_store(FileBlobStore(settings.blob_dir), io.BytesIO(render_photo(4))))
        intake.record_account_events(session, who, [AccountEventIn(external_id="ev-1", account_external_id="acc-9",
                                                                   kind=AccountEventKind.LOGIN, occurred_at="2026-11-30T21:00:00Z",
                                                                   ip="203.0.113.9", device_id="dev-42")])
        intake.file_reports(session, who, [ReportIn(external_id="r1", subject_external_id="photo-9", policy_code="CSAM",
                                                    reporter_type=ReporterType.ANONYMOUS)])
        grace = staff.create_user(session, SEED, settings, username="grace", password=PASSWORD, roles=[Role.CHILD_SAFETY])
        totp = grace.totp_secret or ""
    with db.reader() as session:
        case = session.execute(select(Case)).scalar_one()
        item = session.execute(select(MediaItem)).scalar_one()
    return settings, case.id, case.subject_id, item.id, totp


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving_tipline() as tipline, serving(tmp_path, _seed, ncmec=tipline.settings()) as (base, db, (settings, *seeded)):
        yield Site(base, tipline, db, settings, *seeded)


def test_a_child_safety_reviewer_builds_a_valid_report_and_files_it_with_the_sandbox(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = watch(browser.new_page(viewport={"width": 1360, "height": 900}), errors)
    page.goto(f"{site.url}/cases/{site.case_id}")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(site.totp).now())
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site.url}/cases/{site.case_id}")
    assert page.request.get(f"{site.url}/subjects/{site.subject_id}/media/{site.item_id}").status == 200  # grace looks at it

    page.get_by_test_id("ncmec-link").click()
    page.get_by_role("button", name="Build CyberTipline report").click()
    expect(page).to_have_url(f"{site.url}/cases/{site.case_id}/ncmec?notice=built")
    expect(page.get_by_test_id("ncmec-valid")).to_be_visible()
    expect(page.get_by_test_id("ncmec-state")).to_have_text("draft")
    expect(page.get_by_test_id("ncmec-files")).to_contain_text("yes")  # viewed by staff
    xml = page.get_by_test_id("ncmec-xml").inner_text()
    assert schema.problems(xml.encode()) == []
    assert etree.fromstring(xml.encode()).findtext("personOrUserReported/ipCaptureEvent/ipAddress") == "203.0.113.9"

    page.get_by_role("button", name="Submit to sandbox").click()
    expect(page).to_have_url(f"{site.url}/cases/{site.case_id}/ncmec?notice=queued")
    expect(page.get_by_test_id("ncmec-state")).to_have_text("queued")
    expect(page.get_by_test_id("ncmec-in-flight")).to_be_visible()
    assert site.tipline.state.reports == {}
    run_worker(site.db, site.settings, worker_id="test", once=True)  # what `trustdesk worker` does in the background
    page.reload()
    expect(page.get_by_test_id("ncmec-state")).to_have_text("filed")
    [report_id] = site.tipline.state.reports
    expect(page.get_by_test_id("ncmec-report-id")).to_have_text(str(report_id))
    held = site.tipline.held(report_id)
    assert held["state"] == "finished" and len(held["files"]) == 1 and held["xml"] == xml

    page.goto(f"{site.url}/cases/{site.case_id}")
    expect(page.get_by_test_id("ncmec-case-state")).to_have_text("filed")
    expect(page.get_by_test_id("ncmec-case-report-id")).to_have_text(str(report_id))
    assert errors == []
