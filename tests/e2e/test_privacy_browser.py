"""A privacy user, in a real browser, takes in an access request, verifies the requester,
downloads the export and checks it; then an erasure that a legal hold partly blocks, whose
answer names what was retained and under which hold."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyotp
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, serving, violations, watch
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.legal_holds import HoldSpec
from trustdesk.domain.vocabulary import ReporterType, Role, SubjectKind
from trustdesk.evidence.holds import place_hold
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import Subject

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


def _seed(db: Database, settings: Settings) -> tuple[str, int]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "dating", "Dating").id, actor=SEED)
        intake.create_subjects(session, who, [
            SubjectIn(external_id="acc-9", kind=SubjectKind.ACCOUNT, personal={"email": "kit@example.org"}),
            SubjectIn(external_id="msg-9", kind=SubjectKind.MESSAGE, account_external_id="acc-9", text="send me your address"),
            SubjectIn(external_id="msg-10", kind=SubjectKind.MESSAGE, account_external_id="acc-9", text="see you on friday"),
            SubjectIn(external_id="acc-7", kind=SubjectKind.ACCOUNT),
        ])
        intake.file_reports(session, who, [ReportIn(external_id="rep-9", subject_external_id="msg-9", policy_code="SPAM",
                                                    reporter_type=ReporterType.USER, reporter_external_id="acc-7", text="he keeps asking")])
        held = session.execute(select(Subject.id).where(Subject.external_id == "msg-9")).scalar_one()
        hold = place_hold(session, SEED, [held], HoldSpec("law_enforcement_preservation", "preservation letter"))
        priya = staff.create_user(session, SEED, settings, username="priya", password=PASSWORD, roles=[Role.PRIVACY], display_name="Priya")
        return priya.totp_secret or "", hold.id


def _take_in(page: Page, base: str, request_type: str) -> str:
    page.goto(f"{base}/privacy-requests")
    form = page.get_by_test_id("intake-form")
    form.get_by_label("The person's account").fill("acc-9")
    form.get_by_label("Regime").select_option("gdpr")
    form.get_by_label("Type").select_option(request_type)
    form.get_by_label("Requester's name").fill("Kit")
    form.get_by_label("Requester's contact").fill("kit@example.org")
    form.get_by_role("button", name="Take in").click()
    expect(page.get_by_role("status")).to_contain_text("Request taken in")
    verify = page.get_by_test_id("verify-form")
    verify.get_by_label("How").fill("signed in to the account")
    verify.get_by_role("button", name="Record").click()
    expect(page.get_by_test_id("verification")).to_have_text("verified")
    return page.url.split("?")[0]


def test_a_privacy_user_answers_an_access_request_and_a_partly_held_erasure(tmp_path: Path, browser: Browser) -> None:
    problems: list[str] = []
    with serving(tmp_path, _seed) as (base, db, (totp, hold_id)):
        page = watch(browser.new_page(viewport={"width": 1360, "height": 900}, accept_downloads=True), problems)
        page.goto(f"{base}/privacy-requests")
        page.get_by_label("Username").fill("priya")
        page.get_by_label("Password").fill(PASSWORD)
        if totp:
            page.get_by_label("Authenticator code").fill(pyotp.TOTP(totp).now())
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{base}/privacy-requests")

        access = _take_in(page, base, "access")
        with page.expect_download() as download:
            page.get_by_test_id("export-form").get_by_role("button", name="Download the export").click()
        assert download.value.suggested_filename == f"privacy-request-{access.rsplit('/', 1)[1]}.zip"
        with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as package:
            content = json.loads(package.read("account_and_content.json"))
            assert [s["external_id"] for s in content] == ["acc-9", "msg-9", "msg-10"]
            assert json.loads(package.read("reports_about_you.json"))[0]["policy_code"] == "SPAM"
            everything = b"".join(package.read(n) for n in package.namelist())
            assert b"acc-7" not in everything and b"he keeps asking" not in everything
            assert b"<h2 id=\"decisions.json\">" in package.read("index.html")
        page.get_by_test_id("complete-form").get_by_label("Answer to the requester").fill("Your data is attached.")
        page.get_by_test_id("complete-form").get_by_role("button", name="Complete").click()
        expect(page.get_by_test_id("status")).to_have_text("answered")

        _take_in(page, base, "erasure")
        page.get_by_test_id("complete-form").get_by_label("Answer to the requester").fill("We erased your data.")
        page.get_by_test_id("complete-form").get_by_role("button", name="Complete").click()
        expect(page.get_by_test_id("status")).to_have_text("answered")
        expect(page.get_by_test_id("answer")).to_contain_text("Retained for now: 2 of your records")
        expect(page.get_by_test_id("answer")).not_to_contain_text("law_enforcement_preservation")  # no tipping off
        retained = page.get_by_test_id("retained").locator("tbody tr")
        assert [row.locator("td").all_inner_texts() for row in retained.all()] == [
            ["acc-9", f"#{hold_id}", "law_enforcement_preservation"], ["msg-9", f"#{hold_id}", "law_enforcement_preservation"]]

        page.goto(f"{base}/privacy-requests?closed=true")
        expect(page.get_by_test_id("privacy-requests").locator("tbody tr")).to_have_count(2)
        assert violations(page) == [] and problems == []
        with db.reader() as s:
            erased = {x.external_id: x.erased_at is not None for x in s.execute(select(Subject)).scalars()}
    assert erased == {"acc-9": False, "msg-9": False, "msg-10": True, "acc-7": False}
