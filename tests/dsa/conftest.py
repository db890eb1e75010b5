"""Statements of reasons made the way the product makes them (decisions on a marketplace's
posts), and the DSA sandbox served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.enforcement.conftest import World, account, item, world  # noqa: F401 - the fixture
from tests.live_server import live_server
from trustdesk.audit.log import Actor
from trustdesk.cases.access import Reviewer
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.sandbox.dsa import DsaState, create_dsa_app

TOKEN = "sandbox-token-for-tests"
ALICE = Actor("staff", "alice")


def decide_posts(market: World, count: int, *, prefix: str = "post") -> list[int]:
    """Remove `count` new posts under HARASSMENT: one statement of reasons each; their subject ids."""
    ids = market.add_subjects(account(f"{prefix}-owner"), *(item(f"{prefix}-{n}", "post", owner=f"{prefix}-owner") for n in range(count)))
    request = DecisionRequest("HARASSMENT", verdict="violation", actions=["remove"], rationale="Insults aimed at one person.")
    subject_ids = [ids[f"{prefix}-{n}"] for n in range(count)]
    with market.db.session() as s:
        for subject_id in subject_ids:
            decide_subject(s, ALICE, subject_id, request, reviewer=Reviewer(market.alice, ("moderator",)))
    return subject_ids


class Sandbox:
    def __init__(self, url: str, state: DsaState) -> None:
        self.url, self.state = url, state

    def accepted(self) -> list[dict[str, object]]:
        answer = httpx.get(f"{self.url}/api/v1/statements", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, answer.text
        return answer.json()["statements"]

    def fail(self, status: int, count: int) -> None:
        answer = httpx.post(f"{self.url}/control/fail", json={"status": status, "count": count})
        assert answer.status_code == 200, answer.text


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    state = DsaState(TOKEN)
    with live_server(create_dsa_app(state)) as url:
        yield Sandbox(url, state)
