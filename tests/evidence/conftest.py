"""What the evidence tests share: an account with a post, a photo, a report and a login, made
through the API as the host platform makes them; and a second account whose photo is the same file."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.demo.images import CONTENT_TYPE, render_photo
from trustdesk.store.models import Subject

LEGAL = Actor("staff", "lena")


@dataclass(frozen=True)
class Held:
    api: Api
    ids: dict[str, int]  # external id → subject id
    photo_sha256: str


def upload(api: Api, external_id: str, seed: int) -> str:
    r = api.client.post(f"/api/v1/subjects/{external_id}/media", files={"file": ("p.jpg", render_photo(seed), CONTENT_TYPE)},
                        headers=api.auth)
    assert r.status_code == 200, r.text
    return str(r.json()["media"][0]["sha256"])


@pytest.fixture
def world(api: Api) -> Held:
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account", "personal": {"email": "mara@example.org", "display_name": "Mara"}},
        {"external_id": "post-1", "kind": "post", "account_external_id": "acc-1", "text": "meet me behind the school"},
        {"external_id": "photo-1", "kind": "photo", "account_external_id": "acc-1"},
        {"external_id": "acc-2", "kind": "account"},
        {"external_id": "photo-2", "kind": "photo", "account_external_id": "acc-2"},
    ]})
    assert r.status_code == 200, r.text
    sha = upload(api, "photo-1", 7)
    assert upload(api, "photo-2", 7) == sha  # the same file on another account's photo
    r = api.post("/api/v1/reports", {"external_id": "r-1", "subject_external_id": "post-1", "policy_code": "SPAM",
                                     "reporter_type": "anonymous", "text": "grooming"})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/account-events", {"external_id": "e-1", "account_external_id": "acc-1", "kind": "login",
                                            "occurred_at": "2026-11-02T03:04:05Z", "ip": "203.0.113.9", "device_id": "dev-77"})
    assert r.status_code == 201, r.text
    with api.db.reader() as s:
        ids = {x.external_id: x.id for x in s.execute(select(Subject)).scalars()}
    return Held(api, ids, sha)
