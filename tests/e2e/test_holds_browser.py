"""A legal user places a hold in a real browser, reads an item on the record, exports the
evidence package, and the package verifies with `trustdesk evidence verify`."""

from __future__ import annotations

from pathlib import Path

import pyotp
from playwright.sync_api import Browser, expect

from tests.command_line import run_command
from tests.e2e.conftest import NEEDS_CHROMIUM, serving, violations, watch
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import ReporterType, Role, SubjectKind
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import AccountEventIn, ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


def _seed(db: Database, settings: Settings) -> str:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "dating", "Dating").id, actor=SEED)
        intake.create_subjects(session, who, [
            SubjectIn(external_id="acc-9", kind=SubjectKind.ACCOUNT, personal={"email": "kit@example.org"}),
            SubjectIn(external_id="msg-9", kind=SubjectKind.MESSAGE, account_external_id="acc-9", text="send me your address"),
        ])
        intake.file_reports(session, who, [ReportIn(external_id="rep-9", subject_external_id="msg-9", policy_code="SPAM",
                                                    reporter_type=ReporterType.ANONYMOUS, text="he keeps asking")])
        intake.record_account_events(session, who, [AccountEventIn(external_id="ev-9", account_external_id="acc-9", kind="login",
                                                                   occurred_at="2026-11-30T20:00:00Z", ip="198.51.100.4")])
        lena = staff.create_user(session, SEED, settings, username="lena", password=PASSWORD, roles=[Role.LEGAL], display_name="Lena Legal")
        return lena.totp_secret or ""


def test_a_legal_user_places_a_hold_and_exports_a_package_that_verifies(tmp_path: Path, browser: Browser) -> None:
    problems: list[str] = []
    with serving(tmp_path, _seed) as (base, _db, totp):
        page = watch(browser.new_page(viewport={"width": 1360, "height": 900}, accept_downloads=True), problems)
        page.goto(f"{base}/holds")
        page.get_by_label("Username").fill("lena")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Authenticator code").fill(pyotp.TOTP(totp).now())
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{base}/holds")

        form = page.get_by_test_id("place-form")
        form.get_by_label("Subjects").fill("acc-9")
        form.get_by_label("Legal basis").select_option("law_enforcement_preservation")
        form.get_by_label("Reason", exact=True).fill("preservation letter from the county sheriff")
        form.get_by_label("Reference").fill("SO-2026-118")
        form.get_by_role("button", name="Place hold").click()
        expect(page).to_have_url(f"{base}/holds/1?notice=placed")
        expect(page.get_by_test_id("items").locator("tbody tr")).to_have_count(4)  # account, its login, message, report
        expect(page.get_by_test_id("clock")).to_contain_text("Covers 2 subject(s): acc-9 (account)")

        page.get_by_label("Why you read item 3").fill("checking the wording for the affidavit")
        page.get_by_label("Why you read item 3").press("Enter")
        expect(page.get_by_test_id("item-body")).to_contain_text("send me your address")
        page.get_by_role("link", name="Back to the hold").click()

        page.get_by_test_id("export-form").get_by_label("Reason").fill("disclosure under warrant 44-B")
        with page.expect_download() as download:
            page.get_by_test_id("export-form").get_by_role("button", name="Export").click()
        package = tmp_path / "evidence.zip"
        download.value.save_as(package)
        assert download.value.suggested_filename == "evidence-hold-1.zip"

        page.reload()
        custody = page.get_by_test_id("custody").locator("tbody tr")
        expect(custody).to_have_count(3)
        assert [row.locator("td").all_inner_texts()[2:5] for row in custody.all()] == [
            ["staff:lena", "place", "preservation letter from the county sheriff"],
            ["staff:lena", "read", "checking the wording for the affidavit"],
            ["staff:lena", "export", "disclosure under warrant 44-B"],
        ]
        assert violations(page) == [] and problems == []
    assert run_command("evidence", "verify", str(package)) == "evidence package intact: 4 items, 3 custody events"
