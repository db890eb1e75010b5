"""The review console in a real browser against a real server: a moderator works a case from the
queue to a decision with the keyboard, and a senior takes a shop down in cascade and undoes it,
each step delivered to the host-platform sandbox, whose signature check passes.

Runs Debian's chromium through Playwright (never a downloaded browser) against uvicorn serving a
migrated SQLite database, with the same launch flags as the console browser test.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, HostSandbox, host_sandbox, log_in, serving
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.demo.images import render_photo
from trustdesk.domain.vocabulary import ReporterType, Role, SubjectKind, Visibility
from trustdesk.ingest import intake, media
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import Case, Queue, Strike, Subject

PASSWORD = "long enough password"
SEED = Actor("test", "seed")
SHOP_ITEMS = ("shop-1", "listing-1", "listing-2")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    subjects: dict[str, int]
    host: HostSandbox

    def visibility(self, *external_ids: str) -> list[str]:
        with self.db.reader() as session:
            return [session.get_one(Subject, self.subjects[e]).visibility for e in external_ids]

    def case_of(self, external_id: str) -> Case:
        with self.db.reader() as session:
            return session.execute(select(Case).where(Case.subject_id == self.subjects[external_id])).scalar_one()


def _seed(db: Database, settings: Settings) -> dict[str, int]:
    """A photo reported by a trusted flagger (the most urgent case), a spam message, and a shop."""
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "market", "Marketplace").id, actor=SEED)
        receipts = intake.create_subjects(session, who, [
            SubjectIn(external_id="acc-1", kind=SubjectKind.ACCOUNT, country="DE"),
            SubjectIn(external_id="photo-1", kind=SubjectKind.PHOTO, account_external_id="acc-1"),
            SubjectIn(external_id="msg-1", kind=SubjectKind.MESSAGE, account_external_id="acc-1", text="Cheap followers, DM me"),
            SubjectIn(external_id="shop-1", kind=SubjectKind.SHOP, account_external_id="acc-1", title="Bargain Bags"),
            SubjectIn(external_id="listing-1", kind=SubjectKind.LISTING, parent_external_id="shop-1", title="Bag one"),
            SubjectIn(external_id="listing-2", kind=SubjectKind.LISTING, parent_external_id="shop-1", title="Bag two"),
            SubjectIn(external_id="listing-3", kind=SubjectKind.LISTING, parent_external_id="shop-1", title="Bag three",
                      visibility=Visibility.REMOVED),
        ])
        checked = media.check_and_store(FileBlobStore(settings.blob_dir), io.BytesIO(render_photo(11)))
        intake.attach_media(session, who, "photo-1", checked)
        intake.file_reports(session, who, [
            ReportIn(external_id="r1", subject_external_id="photo-1", policy_code="HARASSMENT",
                     reporter_type=ReporterType.TRUSTED_FLAGGER, text="Mocking photo of a classmate"),
            ReportIn(external_id="r2", subject_external_id="msg-1", policy_code="SPAM", reporter_type=ReporterType.ANONYMOUS),
        ])
        staff.create_user(session, SEED, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia Moderator")
        staff.create_user(session, SEED, settings, username="sue", password=PASSWORD, roles=[Role.SENIOR], display_name="Sue Senior")
    return {r.external_id: r.id for r in receipts}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The console, and the host-platform sandbox as the market app's webhook receiver."""
    with serving(tmp_path, _seed) as (base, db, subjects), host_sandbox(db, "market") as host:
        yield Site(base, db, subjects, host)


def test_a_moderator_works_a_case_from_the_queue_to_a_decision(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = log_in(browser, site.url, "/queues", "mia", PASSWORD, errors)
    photo_case, next_case = site.case_of("photo-1"), site.case_of("msg-1")
    with site.db.reader() as session:
        general = session.execute(select(Queue.id).where(Queue.name == "General")).scalar_one()
    page.goto(f"{site.url}/queues/{general}")
    expect(page.locator("tr[data-case]")).to_have_count(2)

    page.goto(site.url + "/queues")
    page.get_by_role("button", name="Next case").click()
    expect(page).to_have_url(f"{site.url}/cases/{photo_case.id}")
    photo = page.locator("figure.media img")
    expect(photo).to_be_visible()
    expect(photo).to_have_css("filter", "blur(24px) grayscale(1)")

    page.keyboard.press("r")  # reveal the first blurred item
    expect(page.locator("figure.media")).to_have_class(re.compile(r"\brevealed\b"))
    expect(photo).to_have_css("filter", "none")
    expect(page.get_by_role("button", name="Blur again")).to_be_visible()

    # The policy's description and guidance sit beside its tree.
    expect(page.get_by_test_id("policy-guide")).to_contain_text("Abuse aimed at a person")
    expect(page.get_by_test_id("policy-guidance")).to_contain_text("Read the conversation from the start")
    expect(page.get_by_text("Is it aimed at a specific person")).to_be_visible()
    page.keyboard.press("1")  # Yes
    for question in ("Does it threaten violence", "Is it unwanted sexual attention", "Does it attack the person for who they are"):
        expect(page.get_by_text(question)).to_be_visible()
        page.keyboard.press("2")  # No
    expect(page.get_by_text("Is it repeated or coordinated")).to_be_visible()
    page.get_by_role("button", name="Yes").click()  # several messages: a pattern
    expect(page.get_by_test_id("verdict")).to_contain_text("Violation")
    expect(page.locator('input[name="actions"][value="remove"]')).to_be_checked()
    expect(page.locator('input[name="actions"][value="strike"]')).to_be_checked()

    page.keyboard.press("Enter")  # not yet valid: the rationale is required, so nothing is sent
    expect(page.get_by_label("Rationale")).to_be_focused()
    assert page.url == f"{site.url}/cases/{photo_case.id}"
    page.keyboard.type("Mocks a classmate with a humiliating photo.")
    page.keyboard.press("Control+Enter")

    expect(page).to_have_url(f"{site.url}/cases/{next_case.id}?notice=decided")
    expect(page.get_by_text("Decision recorded. Here is your next case.")).to_be_visible()
    expect(page.get_by_text("Cheap followers, DM me")).to_be_visible()
    assert site.visibility("photo-1") == ["removed"]
    with site.db.reader() as session:
        strikes = session.execute(select(Strike.policy_code).where(Strike.account_id == site.subjects["acc-1"])).scalars().all()
    assert strikes == ["HARASSMENT"]
    assert errors == []


def test_a_senior_takes_a_shop_down_in_cascade_and_undoes_it(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = log_in(browser, site.url, "/queues", "sue", PASSWORD, errors)
    page.goto(f"{site.url}/subjects/{site.subjects['shop-1']}")
    page.get_by_role("link", name="Cascade takedown…").click()

    expect(page.get_by_test_id("change-count")).to_have_text("3")
    changes = page.get_by_test_id("changes").locator("tbody tr")
    expect(changes).to_have_count(3)
    expect(changes.filter(has_text="listing-3")).to_have_count(0)  # already removed: stays as it is
    for row in changes.all():
        expect(row).to_contain_text("visible")
        expect(row).to_contain_text("removed")
    page.get_by_label("Policy").select_option("COUNTERFEIT")
    page.get_by_label("Rationale").fill("Counterfeit shop: every listing is a replica.")
    page.get_by_role("button", name="Apply to 3 subjects").click()

    expect(page.get_by_text("Applied to 3 subjects")).to_be_visible()
    assert site.visibility(*SHOP_ITEMS, "listing-3") == ["removed"] * 4
    expect(page.get_by_test_id("delivery-state").first).to_have_text("pending")
    site.host.deliver()  # what `trustdesk worker` does every second
    page.reload()
    expect(page.get_by_test_id("delivery-state").first).to_have_text("delivered")
    arrived = site.host.arrived()
    assert (arrived["accepted"], arrived["refused"]) == (4, 0)  # the sandbox verified every signature
    actions = [e for e in arrived["events"] if e["type"].startswith("action.")]
    assert {(e["type"], e["data"]["policy_code"], e["data"]["subject"]["external_id"]) for e in actions} == {
        ("action.applied", "COUNTERFEIT", ext) for ext in SHOP_ITEMS}
    assert all(e["data"]["statement_of_reasons_id"] for e in actions)  # each removal has its statement of reasons
    [notice] = [e["data"] for e in arrived["events"] if e["type"] == "notice.requested"]
    assert (notice["kind"], notice["recipient"]) == ("decision", {"role": "user", "subject_external_id": "acc-1"})
    assert "Counterfeit shop: every listing is a replica." in notice["body"]
    page.get_by_role("button", name="Undo the cascade").click()  # refused by the form itself: no reason, no tick
    expect(page.get_by_test_id("action-status")).to_have_text("applied")
    page.get_by_label("Reason").fill("The brand confirmed the shop is an authorised outlet.")
    page.get_by_label("I have checked the list above").check()
    page.get_by_role("button", name="Undo the cascade").click()

    expect(page.get_by_test_id("undo-summary")).to_contain_text("Restored 3 subjects")
    expect(page.get_by_test_id("action-status")).to_have_text("undone")
    assert site.visibility(*SHOP_ITEMS) == ["visible"] * 3
    assert site.visibility("listing-3") == ["removed"]
    site.host.deliver()
    arrived = site.host.arrived()
    assert (arrived["accepted"], arrived["refused"]) == (7, 0)
    assert [e["type"] for e in arrived["events"]][4:] == ["action.reversed"] * 3
    assert errors == []
