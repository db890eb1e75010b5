"""Legal and child-safety staff place, read, extend and release holds through the API with a
personal token, on the same rules as the console; every step is on the chain of custody and in
the audit log, and nobody else gets in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.evidence.conftest import Held
from trustdesk.evidence import custody
from trustdesk.store.models import AuditEvent, HoldSubject, StaffUser

MANUAL: dict[str, Any] = {"app": "dating", "subject_external_ids": ["acc-1"], "basis": "manual", "reason": "counsel asked",
                          "reference": "matter 12", "review_on": (date.today() + timedelta(days=30)).isoformat()}
PRESERVE: dict[str, Any] = {"app": "dating", "subject_external_ids": ["post-1"], "basis": "law_enforcement_preservation",
                            "reason": "preservation letter from the county sheriff", "reference": "SO-2026-118"}


def _token(world: Held, username: str, roles: list[str]) -> dict[str, str]:
    with world.api.db.session() as s:
        user = StaffUser(username=username, display_name=username, password_hash="x", roles=roles, skills={})
        s.add(user)
        s.flush()
        user_id = user.id
    return world.api.staff_token(user_id)


@pytest.fixture
def lena(world: Held) -> dict[str, str]:
    return _token(world, "lena", ["legal"])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_legal_staff_place_a_manual_hold_and_read_it(world: Held, lena: dict[str, str]) -> None:
    r = world.api.client.post("/api/v1/holds", json=MANUAL, headers=lena)
    assert r.status_code == 201, r.text
    hold = r.json()
    assert (hold["basis"], hold["status"], hold["placed_by"], hold["reference"], hold["review_on"], hold["expires_at"]) == \
        ("manual", "standing", "staff:lena", "matter 12", MANUAL["review_on"], None)
    assert hold["subjects"] == [{"id": world.ids["acc-1"], "external_id": "acc-1", "kind": "account"}]
    assert hold["covered"] == 3  # the account and its post and photo
    assert [i["kind"] for i in hold["items"]][:2] == ["subject", "account_event"]
    assert all(len(i["sha256"]) == 64 for i in hold["items"])
    read = world.api.client.get(f"/api/v1/holds/{hold['id']}", headers=lena)
    assert read.status_code == 200 and read.json() == hold
    with world.api.db.reader() as s:
        placed = custody.log_of(s, hold["id"])
        assert [(e.verb, e.actor, e.reason) for e in placed] == [("place", "staff:lena", "counsel asked")]
        audit = s.execute(select(AuditEvent).where(AuditEvent.verb == "legal_hold.placed")).scalar_one()
        assert (audit.actor_type, audit.actor_id, audit.object_id) == ("staff", "lena", str(hold["id"]))
        assert s.execute(select(HoldSubject).where(HoldSubject.hold_id == hold["id"])).scalars().all()


def test_a_preservation_hold_runs_ninety_days_is_extended_and_released(world: Held, lena: dict[str, str]) -> None:
    placed = world.api.client.post("/api/v1/holds", json=PRESERVE, headers=lena).json()
    assert _at(placed["expires_at"]) - _at(placed["placed_at"]) == timedelta(days=90)
    extended = world.api.client.post(f"/api/v1/holds/{placed['id']}/extend", json={"reason": "renewed request"}, headers=lena)
    assert extended.status_code == 200, extended.text
    assert _at(extended.json()["expires_at"]) - _at(placed["expires_at"]) == timedelta(days=90)
    released = world.api.client.post(f"/api/v1/holds/{placed['id']}/release", json={"reason": "case closed"}, headers=lena)
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["released_by"]) == ("released", "staff:lena")
    again = world.api.client.post(f"/api/v1/holds/{placed['id']}/release", json={"reason": "twice"}, headers=lena)
    assert (again.status_code, again.json()["field"]) == (422, "hold_id")
    with world.api.db.reader() as s:
        assert [e.verb for e in custody.log_of(s, placed["id"])] == ["place", "extend", "release"]
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "legal_hold")).scalars().all()
        assert verbs == ["legal_hold.placed", "legal_hold.extended", "legal_hold.released"]


def test_the_list_filters_by_status(world: Held, lena: dict[str, str]) -> None:
    kept = world.api.client.post("/api/v1/holds", json=MANUAL, headers=lena).json()["id"]
    gone = world.api.client.post("/api/v1/holds", json=PRESERVE, headers=lena).json()["id"]
    assert world.api.client.post(f"/api/v1/holds/{gone}/release", json={"reason": "withdrawn"}, headers=lena).status_code == 200

    def listed(**query: str) -> list[tuple[int, str]]:
        r = world.api.client.get("/api/v1/holds", params=query, headers=lena)
        assert r.status_code == 200, r.text
        return [(h["id"], h["status"]) for h in r.json()["holds"]]

    assert listed() == [(kept, "standing"), (gone, "released")]
    assert listed(status="standing") == [(kept, "standing")]
    assert listed(status="released") == [(gone, "released")]
    bad = world.api.client.get("/api/v1/holds", params={"status": "open"}, headers=lena)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")


@pytest.mark.parametrize(("change", "field"), [
    ({"review_on": None}, "review_on"),  # a manual hold needs its review date
    ({"review_on": "2020-01-01"}, "review_on"),  # after today
    ({"review_on": "next week"}, "review_on"),
    ({"basis": "forever"}, "basis"),
    ({"reason": "  "}, "reason"),
    ({"subject_external_ids": []}, "subject_external_ids"),
    ({"reference": "x" * 201}, "reference"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_refused_naming_the_field(world: Held, lena: dict[str, str], change: dict[str, Any], field: str) -> None:
    r = world.api.client.post("/api/v1/holds", json=MANUAL | change, headers=lena)
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
    with world.api.db.reader() as s:
        assert s.execute(select(AuditEvent).where(AuditEvent.verb == "legal_hold.placed")).first() is None


def test_an_unknown_subject_or_app_is_named(world: Held, lena: dict[str, str]) -> None:
    r = world.api.client.post("/api/v1/holds", json=MANUAL | {"subject_external_ids": ["acc-1", "ghost-9"]}, headers=lena)
    assert (r.status_code, r.json()["field"]) == (404, "subjects") and "'ghost-9'" in r.json()["detail"]
    r = world.api.client.post("/api/v1/holds", json=MANUAL | {"app": "nowhere"}, headers=lena)
    assert (r.status_code, r.json()["field"]) == (404, "app")
    r = world.api.client.get("/api/v1/holds/999", headers=lena)
    assert (r.status_code, r.json()["field"]) == (404, "hold_id")


def test_only_a_preservation_hold_is_extended(world: Held, lena: dict[str, str]) -> None:
    hold_id = world.api.client.post("/api/v1/holds", json=MANUAL, headers=lena).json()["id"]
    r = world.api.client.post(f"/api/v1/holds/{hold_id}/extend", json={"reason": "more time"}, headers=lena)
    assert (r.status_code, r.json()["field"]) == (422, "basis")


def test_child_safety_staff_are_admitted_and_other_roles_are_not(world: Held) -> None:
    child_safety = _token(world, "cara", ["child-safety"])
    placed = world.api.client.post("/api/v1/holds", json=MANUAL, headers=child_safety)
    assert placed.status_code == 201, placed.text
    for role in ("moderator", "admin", "privacy", "analyst", "senior"):
        headers = _token(world, f"not-{role}", [role])
        refused = [world.api.client.post("/api/v1/holds", json=MANUAL, headers=headers),
                   world.api.client.get("/api/v1/holds", headers=headers),
                   world.api.client.get(f"/api/v1/holds/{placed.json()['id']}", headers=headers),
                   world.api.client.post(f"/api/v1/holds/{placed.json()['id']}/release", json={"reason": "x"}, headers=headers)]
        assert [(r.status_code, r.json()["field"]) for r in refused] == [(403, "roles")] * 4, role
    host_platform = world.api.client.get("/api/v1/holds", headers=world.api.auth)
    assert host_platform.status_code == 401
