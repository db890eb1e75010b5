"""Access exports: everything about the person as JSON files in a zip with a readable index,
minus other people's data, reporters' identities, staff notes and child-safety records."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from tests.evidence.conftest import Held
from trustdesk.audit.log import Actor
from tests.conftest import TEST_PASSWORD_HASHING
from trustdesk.auth.passwords import hash_password
from trustdesk.domain.errors import Conflict
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.privacy import access_export, requests
from trustdesk.store.models import CaseComment, Report, StaffUser, Subject

PRIVACY = Actor("staff", "priya")
ACCESS = {"external_id": "dsr-9", "subject_external_id": "acc-1", "regime": "gdpr", "request_type": "access",
          "requester_name": "Mara", "requester_contact": "mara@example.org", "received_on": "2026-03-01"}


def _request(world: Held, **changes: str) -> int:
    r = world.api.post("/api/v1/privacy-requests", ACCESS | changes)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _opened(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) if not name.endswith(".json") else orjson.loads(package.read(name)) for name in package.namelist()}


def test_the_export_holds_the_person_and_withholds_everyone_else(world: Held) -> None:
    api = world.api
    r = api.post("/api/v1/reports", {"external_id": "r-by-mara", "subject_external_id": "photo-2", "policy_code": "SPAM",
                                     "reporter_type": "user", "reporter_external_id": "acc-1", "text": "spam again"})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/reports", {"external_id": "r-on-mara", "subject_external_id": "post-1", "policy_code": "HARASSMENT",
                                     "reporter_type": "user", "reporter_external_id": "acc-2", "text": "she keeps writing to me",
                                     "dsa": {"notifier_name": "Bo Reporter", "notifier_email": "bo@example.org"}})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/reports", {"external_id": "r-csam", "subject_external_id": "photo-1", "policy_code": "CSAM",
                                     "reporter_type": "automated"})
    assert r.status_code == 201, r.text
    with api.db.session() as s:
        spam = decide_subject(s, PRIVACY, world.ids["post-1"], DecisionRequest("SPAM", verdict="violation", actions=["warn"],
                                                                               rationale="repeated links"))
        decide_subject(s, PRIVACY, world.ids["photo-1"], DecisionRequest("CSAM", verdict="violation", actions=["remove"]))
        report = s.query(Report).filter_by(external_id="r-on-mara").one()
        s.add(CaseComment(case_id=report.case_id, author_id=_staff(s), body="legal: privileged, do not disclose"))
    request_id = _request(world)
    with api.db.session() as s:
        requests.verify(s, PRIVACY, request_id, True, "signed in")
        access_export.record_export(s, PRIVACY, request_id)
    with api.db.reader() as s:
        files = _opened(access_export.export_bytes(s, request_id))
    assert sorted(files) == sorted(["account_and_content.json", "media.json", "account_events.json", "reports_you_filed.json",
                                    "reports_about_you.json", "decisions.json", "notices.json", "appeals.json",
                                    "privacy_requests.json", "README.txt", "index.html"])
    assert [s["external_id"] for s in files["account_and_content.json"]] == ["acc-1", "post-1", "photo-1"]
    assert files["account_and_content.json"][0]["personal"] == {"email": "mara@example.org", "display_name": "Mara"}
    assert files["account_events.json"] == [{"kind": "login", "occurred_at": files["account_events.json"][0]["occurred_at"],
                                             "external_id": "e-1", "ip": "203.0.113.9", "device_id": "dev-77",
                                             "payment_fingerprint": None, "phone_hash": None, "attributes": {}}]
    assert [(r["external_id"], r["text"]) for r in files["reports_you_filed.json"]] == [("r-by-mara", "spam again")]
    about = files["reports_about_you.json"]
    assert [(r["policy_code"], r["status"]) for r in about] == [("SPAM", "actioned"), ("HARASSMENT", "actioned")]
    assert all(set(r) == {"policy_code", "status", "received_at"} for r in about)
    assert [(d["id"], d["policy_code"], d["rationale"]) for d in files["decisions.json"]] == [(spam.id, "SPAM", "repeated links")]
    everything = b"".join(v if isinstance(v, bytes) else orjson.dumps(v) for v in files.values())
    for withheld in (b"Bo Reporter", b"bo@example.org", b"she keeps writing", b"acc-2", b"photo-2", b"privileged", b"CSAM", b"grooming"):
        assert withheld not in everything, withheld
    index = files["index.html"].decode()
    assert "<h2 id=\"decisions.json\">decisions.json</h2>" in index and "repeated links" in index


def _staff(s: Session) -> int:
    user = StaffUser(username="lena", display_name="Lena", password_hash=hash_password("x" * 16, TEST_PASSWORD_HASHING), roles=["legal"])
    s.add(user)
    s.flush()
    return int(user.id)


def test_only_a_verified_access_request_is_exported(world: Held) -> None:
    access = _request(world)
    erasure = _request(world, external_id="dsr-10", request_type="erasure")
    with world.api.db.session() as s:
        with pytest.raises(Conflict) as unverified:
            access_export.record_export(s, PRIVACY, access)
        assert unverified.value.field == "verification"
        with pytest.raises(Conflict) as wrong:
            access_export.record_export(s, PRIVACY, erasure)
        assert wrong.value.field == "request_type"
    with world.api.db.reader() as s:
        assert s.get_one(Subject, world.ids["acc-1"]).erased_at is None
