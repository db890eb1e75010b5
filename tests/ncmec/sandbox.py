"""The NCMEC sandbox served over real HTTP for a test, with its state at hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.live_server import live_server
from trustdesk.config import NcmecSettings
from trustdesk.ncmec.client import CyberTiplineClient
from trustdesk.sandbox.ncmec import TiplineState, create_ncmec_app

USERNAME, PASSWORD = "esp-user", "esp-password"


@dataclass
class Tipline:
    root: str
    state: TiplineState
    sleeps: list[float]

    @property
    def url(self) -> str:
        return self.root + "/ispws"

    def client(self, password: str = PASSWORD, attempts: int = 4) -> CyberTiplineClient:
        """A client that records its pauses between attempts instead of sleeping."""
        return CyberTiplineClient(self.url, USERNAME, password, attempts=attempts, sleep=self.sleeps.append)

    def settings(self) -> NcmecSettings:
        return NcmecSettings(base_url=self.url, username=USERNAME, password=PASSWORD, reporter_phone="+1 555 0100",
                             terms_of_service_url="https://example.org/terms")

    def fail(self, code: int, count: int) -> None:
        assert httpx.post(f"{self.root}/control/fail", json={"code": code, "count": count}).status_code == 200

    def held(self, report_id: int) -> dict[str, Any]:
        answer = httpx.get(f"{self.root}/control/reports/{report_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()


@contextmanager
def serving_tipline() -> Iterator[Tipline]:
    state = TiplineState(USERNAME, PASSWORD)
    with live_server(create_ncmec_app(state)) as root:
        yield Tipline(root, state, [])
