"""Delivery on top of the enforcement world: an app's endpoints, and the sandbox host as a real receiver."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.enforcement.conftest import SETUP, World, world  # noqa: F401 - `world` is a fixture used here
from tests.live_server import live_server
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.sandbox.host import HostState, create_host_app
from trustdesk.store.models import App


@dataclass
class Receiver:
    """The sandbox host in a uvicorn thread, seen from the outside."""

    url: str
    client: httpx.Client

    def hook(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def register(self, name: str, secret: str) -> None:
        assert self.client.post(f"{self.url}/control/endpoints", json={"name": name, "secret": secret}).status_code in (200, 201)

    def control(self, path: str, **spec: Any) -> None:
        answer = self.client.post(f"{self.url}/control/{path}", json=spec)
        assert answer.status_code == 200, answer.text

    def events(self, name: str) -> dict[str, Any]:
        answer = self.client.get(f"{self.url}/control/events", params={"endpoint": name})
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with live_server(create_host_app(HostState())) as url, httpx.Client() as client:
        yield Receiver(url, client)


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret_key)


def connect(market: World, box: SecretBox, receiver: Receiver, name: str = "market") -> int:
    """Add an endpoint for the world's app pointing at the receiver's hook `name`; returns its id."""
    with market.db.session() as s:
        endpoint, secret = add_endpoint(s, SETUP, box, s.get_one(App, market.app_id), receiver.hook(name), production=False)
        endpoint_id = endpoint.id
    receiver.register(name, secret)
    return endpoint_id


def fake_secret(text: bytes = b"a receiver's secret, 32 bytes!!!") -> str:
    return "whsec_" + base64.b64encode(text).decode()
