"""What the browser tests share: Debian's chromium with the flags known to work here, and a real
uvicorn server on a migrated SQLite database, in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD_HASHING, TEST_SECRET
from tests.live_server import live_server
from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.sender import deliver_due
from trustdesk.delivery.signing import SecretBox
from trustdesk.sandbox.host import HostState, create_host_app
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import App
from trustdesk.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Put on each browser test module: `pytestmark = NEEDS_CHROMIUM`.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Debian's chromium is not installed at {CHROMIUM}"),
]
Seeded = TypeVar("Seeded")
# Collects the Content-Security-Policy violations a page reports; installed before its own scripts.
_LISTEN = """window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def watch(page: Page, problems: list[str]) -> Page:
    """Record script errors and anything the console's Content-Security-Policy blocks."""
    page.add_init_script(_LISTEN)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if "Content Security Policy" in m.text else None)
    return page


def log_in(browser: Browser, url: str, landing: str, username: str, password: str, problems: list[str]) -> Page:
    """A new watched page that opens `landing`, logs in through the form and arrives there."""
    page = watch(browser.new_page(viewport={"width": 1360, "height": 900}), problems)
    page.goto(url + landing)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(url + landing)
    return page


def violations(page: Page) -> list[str]:
    """What the current document of a `watch`ed page has reported as blocked."""
    return list(page.evaluate("window.__violations || []"))


@contextmanager
def serving(tmp_path: Path, seed: Callable[[Database, Settings], Seeded], **settings_given: Any) -> Iterator[tuple[str, Database, Seeded]]:
    """Migrate a fresh SQLite database, seed it, serve it (with any settings given); yields
    (base URL, database, seed's result)."""
    url = f"sqlite:///{tmp_path / 'trustdesk.db'}"
    upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key=TEST_SECRET, log_json=False,
                        password_hashing=TEST_PASSWORD_HASHING, **settings_given)
    db = Database(url)
    app = create_app(settings, db)  # first: it configures the personal-data key ring seeding needs
    seeded = seed(db, settings)
    try:
        with live_server(app) as base:
            yield base, db, seeded
    finally:
        db.dispose()


@dataclass
class HostSandbox:
    """The host-platform sandbox, receiving one app's webhooks, seen from the outside."""

    url: str
    client: httpx.Client
    db: Database
    app_slug: str

    def deliver(self) -> int:
        """What `trustdesk worker` does every second: deliver what is due; returns how many were."""
        return deliver_due(self.db, SecretBox(TEST_SECRET))

    def arrived(self) -> dict[str, Any]:
        """The sandbox's counts (accepted: signature verified, refused) and every accepted event."""
        answer = self.client.get(f"{self.url}/control/events", params={"endpoint": self.app_slug})
        assert answer.status_code == 200, answer.text
        return answer.json()


@contextmanager
def host_sandbox(db: Database, app_slug: str) -> Iterator[HostSandbox]:
    """The sandbox in a uvicorn thread, added as the app's webhook endpoint with a fresh secret."""
    with live_server(create_host_app(HostState())) as url, httpx.Client() as client:
        with db.session() as session:
            app = session.execute(select(App).where(App.slug == app_slug)).scalar_one()
            _endpoint, secret = add_endpoint(session, Actor("test", "seed"), SecretBox(TEST_SECRET), app,
                                             f"{url}/hooks/{app_slug}", production=False)
        assert client.post(f"{url}/control/endpoints", json={"name": app_slug, "secret": secret}).status_code in (200, 201)
        yield HostSandbox(url, client, db, app_slug)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
