"""An appeal in a real browser: the host platform files it through the API, and a second
reviewer takes it from the queue and overturns it on the appeal case page, which reinstates
the listing and revokes the strike; the reinstatement and the notice telling the user reach the
host-platform sandbox, signatures verified."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.e2e.conftest import NEEDS_CHROMIUM, HostSandbox, host_sandbox, log_in, serving
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_client
from trustdesk.cases import claiming
from trustdesk.cases.access import Reviewer
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import ReporterType, Role, Scope, SubjectKind
from trustdesk.enforcement.decisions import DecisionRequest, decide_case
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import Appeal, Strike, Subject

PASSWORD = "long enough password"
SEED = Actor("test", "seed")

pytestmark = NEEDS_CHROMIUM


@dataclass
class Site:
    url: str
    db: Database
    token: str
    decision_id: int
    host: HostSandbox


def _seed(db: Database, settings: Settings) -> tuple[str, int]:
    """A scam listing that Mia removed with a strike; the host platform's token."""
    with db.session() as session:
        seed_catalogue(session, SEED)
        seed_queues(session, SEED)
        app = ensure_app(session, SEED, "market", "Marketplace")
        _client, token = create_client(session, SEED, app, "market-backend", list(Scope))
        who = intake.Submitter(app_id=app.id, actor=SEED)
        intake.create_subjects(session, who, [
            SubjectIn(external_id="seller-1", kind=SubjectKind.ACCOUNT),
            SubjectIn(external_id="lst-1", kind=SubjectKind.LISTING, account_external_id="seller-1", title="Phone, barely used"),
        ])
        intake.file_reports(session, who, [ReportIn(external_id="r1", subject_external_id="lst-1", policy_code="SCAM",
                                                    reporter_type=ReporterType.ANONYMOUS, text="asks to pay by gift card")])
        mia = staff.create_user(session, SEED, settings, username="mia", password=PASSWORD, roles=[Role.MODERATOR], display_name="Mia Moderator")
        staff.create_user(session, SEED, settings, username="sue", password=PASSWORD, roles=[Role.SENIOR], display_name="Sue Senior")
        reviewer = Reviewer.of(mia)
        case = claiming.next_case(session, reviewer).case
        assert case is not None
        decision = decide_case(session, reviewer, Actor("staff", "mia"), case.id, DecisionRequest(
            "SCAM", verdict="violation", actions=["remove", "strike"], rationale="Asks for payment by gift card"))
        return token, decision.id


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving(tmp_path, _seed) as (base, db, seeded), host_sandbox(db, "market") as host:
        yield Site(base, db, *seeded, host)


def test_an_appeal_filed_through_the_api_is_overturned_by_a_second_reviewer(site: Site, browser: Browser) -> None:
    filed = httpx.post(f"{site.url}/api/v1/appeals", headers={"Authorization": f"Bearer {site.token}"}, json={
        "external_id": "ap-1", "decision_id": site.decision_id, "statement": "I sold it to a friend who paid by card in person"})
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]

    errors: list[str] = []
    page = log_in(browser, site.url, "/queues", "sue", PASSWORD, errors)
    page.get_by_role("button", name="Next case").click()
    expect(page).to_have_url(f"{site.url}/cases/{case_id}")
    appeal = page.get_by_test_id("appeal")
    expect(appeal).to_contain_text("I sold it to a friend")
    expect(page.get_by_test_id("original-rationale")).to_have_text("Asks for payment by gift card")
    expect(appeal).to_contain_text("Mia Moderator")
    expect(appeal).to_contain_text("asks to pay by gift card")

    page.get_by_label("is wrong").check()
    page.get_by_label("Why (the appellant is told)").fill("The buyer confirmed an in-person card payment.")
    page.get_by_role("button", name="Decide the appeal").click()
    expect(page).to_have_url(f"{site.url}/queues?notice=decided-last")

    with site.db.reader() as session:
        assert session.execute(select(Appeal.outcome)).scalar_one() == "overturned"
        assert session.execute(select(Subject.visibility).where(Subject.external_id == "lst-1")).scalar_one() == "visible"
        assert session.execute(select(Strike.revoked_at)).scalar_one() is not None
    page.goto(f"{site.url}/cases/{case_id}")
    expect(page.get_by_test_id("appeal-outcome")).to_contain_text("Overturned by Sue Senior")
    told = page.get_by_test_id("case-notices").locator("tr", has_text="appeal outcome")
    expect(told.get_by_test_id("notice-state")).to_have_text("pending")

    assert site.host.deliver() == 4  # what `trustdesk worker` does every second
    arrived = site.host.arrived()
    assert (arrived["accepted"], arrived["refused"]) == (4, 0)  # every signature verified
    reversed_ = {(e["data"]["action"], e["data"]["subject"]["external_id"]) for e in arrived["events"] if e["type"] == "action.reversed"}
    assert reversed_ == {("remove", "lst-1"), ("strike", "seller-1"), ("warn", "seller-1")}  # the strike's warning too
    [notice] = [e["data"] for e in arrived["events"] if e["type"] == "notice.requested"]
    assert (notice["kind"], notice["recipient"]) == ("appeal_outcome", {"role": "user", "subject_external_id": "seller-1"})
    assert "we have reversed it" in notice["body"] and "The content is back." in notice["body"]
    assert "The buyer confirmed an in-person card payment." in notice["body"]
    assert "Sue" not in notice["body"] and "Mia" not in notice["body"]  # staff are never named
    page.reload()
    expect(told.get_by_test_id("notice-state")).to_have_text("sent")
    assert errors == []
