"""Working a queue in a real browser: "next case" from a queue's page, SLA timers that count down
live, and a lease that is renewed only while the reviewer is active on the case page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from tests.cases import factories
from tests.e2e.conftest import NEEDS_CHROMIUM, log_in, serving, violations
from trustdesk.config import Settings
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import Case, utcnow
from trustdesk.web.console import review

PASSWORD = "correct horse battery"  # what tests.cases.factories gives every reviewer

pytestmark = NEEDS_CHROMIUM


@dataclass
class Queues:
    scams: int
    urgent_general_case: int
    scam_cases: list[int]
    due_soon_case: int


def _seed(db: Database, settings: Settings) -> Queues:
    """A General queue whose top case is the most urgent of all, and a Scams queue below it."""
    with db.session() as session:
        seed_catalogue(session, factories.SETUP)
        scams = factories.queue(session, "Scams", routing_expression="policy.code == 'SCAM'")
        general = factories.queue(session)
        general_cases = factories.open_cases(session, general.id, 2)
        scam_cases = factories.open_cases(session, scams.id, 2, start=10)
        session.execute(update(Case).where(Case.id == general_cases[0]).values(priority_score=500.0))
        session.execute(update(Case).where(Case.id == scam_cases[1]).values(priority_score=1.0))
        factories.reviewer(session, settings, "mia", ["moderator"])
    return Queues(scams.id, general_cases[0], scam_cases, scam_cases[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Database, Queues]]:
    with serving(tmp_path, _seed) as served:
        yield served


def _renewals(page: Page) -> list[str]:
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if r.method == "POST" and r.url.endswith("/renew") else None)
    return calls


def test_next_case_from_a_queue_page_and_live_sla_timers(browser: Browser, site: tuple[str, Database, Queues]) -> None:
    url, db, queues = site
    problems: list[str] = []
    page = log_in(browser, url, f"/queues/{queues.scams}", "mia", PASSWORD, problems)
    with db.session() as session:  # due a few seconds from now: the browser has to turn it into a breach by itself
        session.execute(update(Case).where(Case.id == queues.due_soon_case).values(due_at=utcnow() + timedelta(seconds=8)))
    page.reload()
    row = page.locator(f'tr[data-case="{queues.due_soon_case}"]')
    due = row.get_by_test_id("due")
    expect(due).to_have_text(re.compile(r"^<1 min left$"))
    expect(row).not_to_have_class(re.compile("breached"))
    # No reload: the timer turns into a breach on its own once the due time passes.
    expect(due).to_have_text(re.compile(r"^breached <1 min ago$"), timeout=40_000)
    expect(due).to_have_class(re.compile(r"\blate\b"))
    expect(row).to_have_class(re.compile(r"\bbreached\b"))

    page.keyboard.press("n")  # "Next case from this queue"
    expect(page).to_have_url(re.compile(rf"/cases/({queues.scam_cases[0]}|{queues.scam_cases[1]})\?queue={queues.scams}$"))
    expect(page.get_by_test_id("working")).to_contain_text("Taking cases from Scams only")
    page.keyboard.press("n")  # skip: the other scam case, still never the more urgent General one
    expect(page).to_have_url(re.compile(rf"/cases/\d+\?queue={queues.scams}$"))
    with db.reader() as session:
        assert session.get_one(Case, queues.urgent_general_case).claimed_by is None
        held = [session.get_one(Case, c).claimed_by for c in queues.scam_cases]
    assert held.count(None) == 1  # one scam case held, the skipped one given back
    assert problems == [] and violations(page) == []


def test_the_lease_is_renewed_only_while_the_reviewer_is_active(
    browser: Browser, site: tuple[str, Database, Queues], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same rules on a faster clock (the server runs in this process): renew every second
    # while the reviewer was active within the last two seconds.
    monkeypatch.setattr(review, "RENEW_EVERY_SECONDS", 1)
    monkeypatch.setattr(review, "ACTIVE_WITHIN_SECONDS", 2)
    url, _db, queues = site
    problems: list[str] = []
    page = log_in(browser, url, f"/queues/{queues.scams}", "mia", PASSWORD, problems)
    calls = _renewals(page)
    page.get_by_role("button", name=re.compile("Next case from this queue")).click()
    badge = page.locator("#lease")
    expect(badge).to_contain_text("yours while you work on it")
    for x in range(8):  # a reviewer at work: the mouse moves
        page.mouse.move(100 + 40 * x, 300)
        page.wait_for_timeout(400)
    assert len(calls) >= 2
    expect(badge).to_contain_text("away?", timeout=5_000)  # idle: renewing stops ...
    stopped = len(calls)
    page.wait_for_timeout(3_000)
    assert len(calls) == stopped
    page.mouse.move(500, 500)  # ... and coming back renews at once
    expect(page.locator("#lease")).to_contain_text("yours while you work on it")
    page.wait_for_timeout(300)
    assert len(calls) >= stopped + 1
    assert problems == [] and violations(page) == []
