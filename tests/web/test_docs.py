"""/docs works without the internet: vendored Swagger UI, started from a static script; and a favicon."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import TEST_SECRET
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.web.app import create_app
from trustdesk.web.security_headers import CONSOLE_CSP


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = Database("sqlite:///:memory:")  # nothing here reads the database
    with TestClient(create_app(Settings(data_dir=tmp_path, secret_key=TEST_SECRET), db)) as test_client:
        yield test_client
    db.dispose()


def _references(html: str) -> list[str]:
    return re.findall(r'\b(?:src|href)="([^"]+)"', html) + re.findall(r'data-openapi-url="([^"]+)"', html)


def test_docs_reference_no_other_host_and_every_asset_is_served(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONSOLE_CSP
    assert "<script>" not in page.text and "style=" not in page.text  # the start-up code is a static file
    references = _references(page.text)
    assert {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css", "/static/docs.js", "/openapi.json"} <= set(references)
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), f"/docs refers to another host: {url}"
        assert client.get(url).status_code == 200, url
    assert "validatorUrl: null" in client.get("/static/docs.js").text  # no badge image from elsewhere


def test_swagger_ui_ships_with_its_licence(client: TestClient) -> None:
    licence = client.get("/static/swagger-ui/LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text
    assert "SmartBear" in client.get("/static/swagger-ui/NOTICE").text


def test_other_framework_doc_pages_that_load_from_a_cdn_are_gone(client: TestClient) -> None:
    assert client.get("/redoc", follow_redirects=False).status_code == 404


def test_the_favicon_is_served_and_linked(client: TestClient) -> None:
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/vnd.microsoft.icon"
    with Image.open(io.BytesIO(ico.content)) as image:
        assert image.format == "ICO" and {(16, 16), (32, 32)} <= set(image.info["sizes"])
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml" and b"<script" not in svg.content
    login = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
