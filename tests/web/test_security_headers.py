"""Every console page carries the protective headers; the API carries nosniff; templates hold
nothing a strict Content-Security-Policy would block."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.models import Case, Queue
from trustdesk.web.app import create_app
from trustdesk.web.console import views
from trustdesk.web.permissions import SESSION_COOKIE, public
from trustdesk.web.security_headers import CONSOLE_CSP

SETUP = Actor("test", "setup")
TEMPLATES = Path(views.__file__).parent / "templates"


@pytest.fixture
def pages(api: Api, settings: Settings) -> dict[str, str]:
    """A logged-in admin and the paths of the main console pages, each with something to show."""
    created = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "shop-1", "kind": "shop", "title": "Bargain Bags"},
        {"external_id": "listing-1", "kind": "listing", "parent_external_id": "shop-1", "title": "Bag one"},
    ]})
    assert created.status_code == 200, created.text
    with api.db.session() as session:
        seed_queues(session, SETUP)
        user = staff.create_user(session, SETUP, settings, username="root", password="long enough password", roles=["admin"])
        api.client.cookies.set(SESSION_COOKIE, staff.open_session(session, settings, user))
    filed = api.post("/api/v1/reports", {"external_id": "r1", "subject_external_id": "listing-1", "policy_code": "COUNTERFEIT",
                                         "reporter_type": "anonymous"})
    assert filed.status_code == 201, filed.text
    with api.db.reader() as session:
        case = session.execute(select(Case)).scalar_one()
        queue_id = session.execute(select(Queue.id).where(Queue.id == case.queue_id)).scalar_one()
    shop = created.json()["items"][0]["id"]
    return {
        "home": "/", "counts": "/home/counts", "queues": "/queues", "queue": f"/queues/{queue_id}", "queue form": "/queues/new",
        "case": f"/cases/{case.id}", "subject": f"/subjects/{shop}", "policies": "/policies", "policy": "/policies/SPAM",
        "bulk": "/bulk", "cascade": f"/subjects/{shop}/cascade?kind=cascade_takedown", "not found": "/subjects/999999",
    }


def _assert_console_headers(response: httpx.Response, *, cached: bool = False) -> None:
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert ("cache-control" not in response.headers) if cached else response.headers["cache-control"] == "no-store"


def test_every_console_page_has_the_protective_headers(api: Api, pages: dict[str, str]) -> None:
    for name, path in pages.items():
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == (404 if name == "not found" else 200), f"{name}: {response.text[:200]}"
        _assert_console_headers(response)
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                      "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in CONSOLE_CSP
    assert "unsafe" not in CONSOLE_CSP


def test_login_redirects_and_static_files_have_them_too(api: Api) -> None:
    _assert_console_headers(api.client.get("/login"))
    _assert_console_headers(api.client.get("/queues", follow_redirects=False))  # the redirect to log in
    for path in ("/static/review.js", "/static/console.css", "/static/favicon.svg"):
        response = api.client.get(path)
        assert response.status_code == 200
        _assert_console_headers(response, cached=True)


def test_api_answers_get_nosniff_and_no_page_policy(api: Api) -> None:
    for response in (
        api.client.get("/api/v1/subjects/nobody", headers=api.auth),
        api.post("/api/v1/subjects", {"external_id": "a", "kind": "account"}),
        api.client.get("/healthz"),
        api.client.get("/openapi.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers


# Anything a strict policy blocks: inline scripts, event-handler attributes, style attributes and
# elements, javascript: URLs, and htmx's attribute-scripting features.
_BLOCKED = re.compile(
    r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:|\shx-on|\shx-vars=|\sdata-hx-on|js:", re.I,
)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_hold_nothing_the_policy_blocks(template: str) -> None:
    text = (TEMPLATES / template).read_text()
    assert _BLOCKED.findall(text) == [], f"{template} has inline code or style"


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code() -> None:
    base = (TEMPLATES / "base.html").read_text()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', base)
    assert config is not None
    assert '"includeIndicatorStyles": false' in config.group(1) and '"allowEval": false' in config.group(1)


def test_a_server_error_has_the_headers_too(settings: Settings, db: Database) -> None:
    app = create_app(settings, db)

    @app.get("/boom", dependencies=[Depends(public())])
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    _assert_console_headers(response)
