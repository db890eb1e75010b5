"""Policies and bulk in a real browser: an admin edits a policy through its form (the keyword
picker follows the category, a refused tree keeps every edit), and a senior runs a bulk decision
by the app's external ids, watches each item's result arrive, and undoes it.

Runs Debian's chromium through Playwright against uvicorn serving a migrated SQLite database; the
bulk work is done by the worker, run from the test while the page polls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, log_in, serving, watch
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role, SubjectKind
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import SubjectIn
from trustdesk.jobs.worker import run_worker
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import Policy, Subject

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    settings: Settings
    admin_totp: str

    def visibility(self, *external_ids: str) -> list[str]:
        with self.db.reader() as session:
            rows = dict(session.execute(select(Subject.external_id, Subject.visibility)).all())
        return [rows[e] for e in external_ids]

    def work(self) -> None:
        run_worker(self.db, self.settings, worker_id="test", once=True)


def _seed(db: Database, settings: Settings) -> tuple[Settings, str]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "market", "Marketplace").id, actor=SEED)
        intake.create_subjects(session, who, [
            SubjectIn(external_id="acc-1", kind=SubjectKind.ACCOUNT),
            SubjectIn(external_id="shop-1", kind=SubjectKind.SHOP, account_external_id="acc-1", title="Bargain Bags"),
            *(SubjectIn(external_id=f"listing-{n}", kind=SubjectKind.LISTING, parent_external_id="shop-1", title=f"Bag {n}")
              for n in (1, 2)),
        ])
        staff.create_user(session, SEED, settings, username="sue", password=PASSWORD, roles=[Role.SENIOR], display_name="Sue Senior")
        admin = staff.create_user(session, SEED, settings, username="root", password=PASSWORD, roles=[Role.ADMIN], display_name="Root")
        assert admin.totp_secret
    return settings, admin.totp_secret


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving(tmp_path, _seed) as (base, db, (settings, secret)):
        yield Site(base, db, settings, secret)


def _admin(browser: Browser, site: Site, errors: list[str]) -> Page:
    page = watch(browser.new_page(viewport={"width": 1360, "height": 1000}), errors)
    page.goto(site.url + "/policies/COUNTERFEIT")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(site.admin_totp).now())
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site.url + "/policies/COUNTERFEIT")
    return page


def _wait_hidden(page: Page, keyword: str) -> None:
    """The picker's script hides other categories' keywords once the page has loaded: wait for it."""
    page.wait_for_function(f"""document.querySelector('select[name="dsa_keywords"] option[value="{keyword}"]').hidden""")


def _hidden_keywords(page: Page) -> set[str]:
    return set(page.eval_on_selector_all('select[name="dsa_keywords"] option', "os => os.filter(o => o.hidden).map(o => o.value)"))


def test_an_admin_edits_a_policy_and_a_refused_save_keeps_every_edit(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = _admin(browser, site, errors)
    keywords = page.locator('select[name="dsa_keywords"]')
    expect(keywords).to_have_values(["KEYWORD_TRADEMARK_INFRINGEMENT"])
    _wait_hidden(page, "KEYWORD_PHISHING")
    assert "KEYWORD_PHISHING" in _hidden_keywords(page) and "KEYWORD_COPYRIGHT_INFRINGEMENT" not in _hidden_keywords(page)

    page.locator('input[name="title"]').fill("Counterfeits and replicas")
    guidance = page.locator('textarea[name="guidance"]')
    guidance.fill(guidance.input_value() + "\nCheck the seller's other shops too.")
    page.locator('select[name="dsa_category"]').select_option("STATEMENT_CATEGORY_SCAMS_AND_FRAUD")
    expect(keywords).to_have_values([])  # the trademark keyword is not one of this category: unselected
    assert "KEYWORD_TRADEMARK_INFRINGEMENT" in _hidden_keywords(page) and "KEYWORD_INAUTHENTIC_LISTINGS" not in _hidden_keywords(page)
    keywords.select_option(["KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_OTHER"])
    page.locator('select[name="ncmec_incident_type"]').select_option("")
    broken = {"start": "q", "nodes": {"q": {"question": "Is it a replica?", "answers": [
        {"label": "Yes", "outcome": {"verdict": "violation", "actions": ["ban"]}},
        {"label": "No", "next": "missing"}]}}}
    page.locator('textarea[name="decision_tree"]').fill(json.dumps(broken, indent=2))
    page.get_by_role("button", name="Publish version 2").click()

    expect(page.get_by_test_id("form-error")).to_contain_text("Your edits are kept")
    expect(page.get_by_test_id("field-error")).to_have_text(
        "decision_tree.nodes.q.answers[0].outcome.actions: ban not allowed under COUNTERFEIT")
    expect(page.locator('input[name="title"]')).to_have_value("Counterfeits and replicas")
    expect(page.locator('textarea[name="guidance"]')).to_have_value(guidance.input_value())
    assert guidance.input_value().endswith("Check the seller's other shops too.")
    expect(page.locator('select[name="dsa_category"]')).to_have_value("STATEMENT_CATEGORY_SCAMS_AND_FRAUD")
    expect(keywords).to_have_values(["KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_OTHER"])
    assert json.loads(page.locator('textarea[name="decision_tree"]').input_value()) == broken
    _wait_hidden(page, "KEYWORD_TRADEMARK_INFRINGEMENT")  # the picker still follows the category
    assert "KEYWORD_TRADEMARK_INFRINGEMENT" in _hidden_keywords(page)

    fixed = json.loads(json.dumps(broken))
    fixed["nodes"]["q"]["answers"] = [{"label": "Yes", "outcome": {"verdict": "violation", "actions": ["remove", "demonetise"]}},
                                      {"label": "No", "outcome": {"verdict": "no_violation"}}]
    page.locator('textarea[name="decision_tree"]').fill(json.dumps(fixed, indent=2))
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Published version 2")
    page.get_by_role("button", name="Publish version 3").click()  # nothing changed
    expect(page.get_by_test_id("notice")).to_contain_text("Nothing changed, so no new version was made")
    with site.db.reader() as session:
        current = session.execute(select(Policy).where(Policy.code == "COUNTERFEIT", Policy.is_current.is_(True))).scalar_one()
    assert (current.version, current.title, current.dsa_keywords) == (2, "Counterfeits and replicas", ["KEYWORD_INAUTHENTIC_LISTINGS", "KEYWORD_OTHER"])
    assert current.decision_tree == fixed and current.guidance.endswith("\nCheck the seller's other shops too.")
    assert errors == []


def test_a_senior_runs_a_bulk_decision_by_external_id_watches_each_item_and_undoes_it(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    page = log_in(browser, site.url, "/bulk", "sue", PASSWORD, errors)
    page.get_by_label("The ids are").select_option("market")
    page.get_by_label("Subjects").fill("listing-1\nlisting-2\nghost-9")
    page.get_by_label("Policy").select_option("COUNTERFEIT")
    page.locator('input[name="actions"][value="remove"]').check()
    page.get_by_label("Rationale").fill("Replica bags, one seller.")
    page.get_by_role("button", name="Start bulk decision").click()

    items = page.get_by_test_id("items").locator("tbody tr")
    expect(page.get_by_test_id("bulk-status")).to_have_text("queued")
    expect(items).to_have_count(3)
    expect(items.nth(2)).to_contain_text("no subject 'ghost-9' in app market")  # known at once, the rest go on
    expect(items.nth(0)).to_contain_text("pending")

    site.work()  # the worker runs; the open page polls and shows each result without a reload
    expect(page.get_by_test_id("bulk-status")).to_have_text("done", timeout=10_000)
    for n, (given, result) in enumerate([("market:listing-1", "applied"), ("market:listing-2", "applied"), ("market:ghost-9", "failed")]):
        expect(items.nth(n)).to_contain_text(given)
        expect(items.nth(n).locator(".pill")).to_have_text(result)
    assert site.visibility("listing-1", "listing-2") == ["removed", "removed"]

    page.reload()  # the undo is offered once the operation is done
    page.get_by_text("Undo this operation…").click()
    page.get_by_role("button", name="Undo bulk decision").click()  # refused by the form: no reason, no tick
    assert site.visibility("listing-1") == ["removed"]
    page.get_by_label("Reason").fill("The seller proved the bags are genuine.")
    page.get_by_label("I have checked this").check()
    page.get_by_role("button", name="Undo bulk decision").click()
    expect(page.get_by_role("heading", name="Undo of bulk decision")).to_be_visible()
    expect(page.get_by_text("The seller proved the bags are genuine.")).to_be_visible()
    site.work()
    expect(page.get_by_test_id("bulk-status")).to_have_text("done", timeout=10_000)
    expect(items.locator(".pill")).to_have_text(["undone", "undone"])
    assert site.visibility("listing-1", "listing-2") == ["visible", "visible"]
    assert errors == []
