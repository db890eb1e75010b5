"""In a browser: a moderator escalates a case to legal from its page; it leaves the moderator's
queue, the moderator gets 404 on it, and legal staff find it in the legal tier's queue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, log_in, serving, watch
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
from trustdesk.store.models import Case, Queue

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    ids: dict[str, int]
    lou_totp: str


def _seed(db: Database, settings: Settings) -> tuple[dict[str, int], str]:
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        who = intake.Submitter(app_id=ensure_app(session, SEED, "market", "Marketplace").id, actor=SEED)
        intake.create_subjects(session, who, [SubjectIn(external_id="post-1", kind=SubjectKind.POST, text="Selling my neighbour's address")])
        intake.file_reports(session, who, [ReportIn(external_id="r1", subject_external_id="post-1", policy_code="HARASSMENT",
                                                    reporter_type=ReporterType.ANONYMOUS, text="doxxing")])
        staff.create_user(session, SEED, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia Moderator")
        lou = staff.create_user(session, SEED, settings, username="lou", password=PASSWORD, roles=[Role.LEGAL], display_name="Lou Legal")
        lou_totp = lou.totp_secret or ""
    with db.reader() as session:
        queues = {q.tier or q.name: q.id for q in session.execute(select(Queue)).scalars()}
        case = session.execute(select(Case)).scalar_one()
    return {"case": case.id, "general": queues["General"], "legal": queues["legal"]}, lou_totp


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving(tmp_path, _seed) as (base, db, (ids, lou_totp)):
        yield Site(base, db, ids, lou_totp)


def test_a_case_escalated_to_legal_leaves_the_moderators_queue_and_is_hidden_from_them(site: Site, browser: Browser) -> None:
    errors: list[str] = []
    case, general = site.ids["case"], site.ids["general"]
    page = log_in(browser, site.url, f"/queues/{general}", "mia", PASSWORD, errors)
    expect(page.locator("tr[data-case]")).to_have_count(1)
    page.goto(f"{site.url}/cases/{case}")
    page.get_by_text("Escalate to a tier…").click()
    form = page.get_by_test_id("escalate-form")
    form.get_by_label("Tier").select_option("legal")
    form.get_by_label("Urgency").select_option("high")
    form.get_by_label("Why?").fill("A lawyer for the neighbour sent a court order about this post.")
    form.get_by_role("button", name="Escalate").click()
    expect(page).to_have_url(f"{site.url}/queues?notice=escalated-handed-over")
    expect(page.get_by_text("Escalated and handed to the tier's team")).to_be_visible()

    page.goto(f"{site.url}/queues/{general}")
    expect(page.locator("tr[data-case]")).to_have_count(0)
    assert page.request.get(f"{site.url}/cases/{case}").status == 404

    legal = watch(browser.new_page(viewport={"width": 1360, "height": 900}), errors)
    legal.goto(f"{site.url}/queues/{site.ids['legal']}")
    legal.get_by_label("Username").fill("lou")
    legal.get_by_label("Password").fill(PASSWORD)
    legal.get_by_label("Authenticator code").fill(pyotp.TOTP(site.lou_totp).now())
    legal.get_by_role("button", name="Log in").click()
    expect(legal).to_have_url(f"{site.url}/queues/{site.ids['legal']}")
    expect(legal.locator("tr[data-case]")).to_have_count(1)
    legal.goto(f"{site.url}/cases/{case}")
    expect(legal.get_by_test_id("escalation-reason")).to_have_text("A lawyer for the neighbour sent a court order about this post.")
    assert errors == []
