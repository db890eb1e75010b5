"""A small review office for the reply and canned-rationale tests: starter queues, staff of a
few roles (each with a personal token and, on demand, a console session), and a way to put a
reported subject in a queue and have a moderator hold its case."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.store.models import StaffUser
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")
STAFF = {"mia": ["moderator"], "cara": ["child-safety"], "sue": ["senior"], "root": ["admin"]}


@dataclass
class Office:
    api: Api
    settings: Settings
    users: dict[str, int]
    tokens: dict[str, str]

    def call(self, who: str, method: str, path: str, body: Any = None) -> httpx.Response:
        """An API call with `who`'s personal token."""
        return self.api.client.request(method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def log_in(self, who: str) -> str:
        """Give the client `who`'s console session; returns its CSRF token."""
        with self.api.db.session() as s:
            token = staff.open_session(s, self.settings, s.get_one(StaffUser, self.users[who]))
        self.api.client.cookies.set(SESSION_COOKIE, token)
        page = self.api.client.get("/policies/SPAM").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found, page[:300]
        return found.group(1)

    def report(self, external_id: str, policy_code: str = "SPAM", *, kind: str = "post", locale: str | None = None) -> None:
        """A subject (with the account owning it) and a report on it, filed through the intake API."""
        item: dict[str, Any] = {"external_id": external_id, "kind": kind, "account_external_id": f"owner-{external_id}", "text": "look at this"}
        if locale:
            item["locale"] = locale
        r = self.api.post("/api/v1/subjects/batch", {"items": [{"external_id": f"owner-{external_id}", "kind": "account"}, item]})
        assert r.status_code == 200, r.text
        r = self.api.post("/api/v1/reports", {"external_id": f"r-{external_id}", "subject_external_id": external_id,
                                              "policy_code": policy_code, "reporter_type": "trusted_flagger",
                                              "dsa": {"notifier_name": "Rita Reporter", "notifier_email": "rita@example.org"}})
        assert r.status_code == 201, r.text

    def take(self, who: str = "mia") -> int:
        """`who` takes the next case; returns its id."""
        r = self.call(who, "POST", "/api/v1/cases/next")
        assert r.status_code == 200 and r.json()["case"], r.text
        return int(r.json()["case"]["id"])


@pytest.fixture
def office(api: Api, settings: Settings) -> Office:
    users, tokens = {}, {}
    with api.db.session() as s:
        seed_queues(s, SETUP)
        for name, roles in STAFF.items():
            user = staff.create_user(s, SETUP, settings, username=name, password="correct horse battery", roles=roles, with_totp=False)
            users[name] = user.id
            tokens[name] = api_clients.create_staff_token(s, SETUP, user, "tests")[1]
    return Office(api, settings, users, tokens)
