"""Intake through the HTTP API: idempotency, conflicts, batches, errors that name fields."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from sqlalchemy import func, select

from tests.conftest import Api
from trustdesk.audit.verify import verify_chain
from trustdesk.store.models import AuditEvent, Report, Subject


def _account(ext: str = "acc-1", **extra: object) -> dict[str, object]:
    return {"external_id": ext, "kind": "account", "country": "DE", "personal": {"email": f"{ext}@example.org"}} | extra


def _seed(api: Api) -> None:
    r = api.post("/api/v1/subjects/batch", {"items": [
        _account("acc-1"),
        _account("acc-2"),
        {"external_id": "shop-1", "kind": "shop", "account_external_id": "acc-1", "title": "Shop"},
        {"external_id": "lst-1", "kind": "listing", "parent_external_id": "shop-1", "title": "Bag", "reach": {"sales": 4}},
    ]})
    assert r.status_code == 200, r.text


def test_subject_create_is_idempotent_and_conflicts_are_named(api: Api) -> None:
    first = api.post("/api/v1/subjects", _account())
    assert first.status_code == 201
    again = api.post("/api/v1/subjects", _account())
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "existing"
    changed = api.post("/api/v1/subjects", _account(country="FR"))
    assert changed.status_code == 409
    assert changed.json()["field"] == "external_id" and "acc-1" in changed.json()["detail"]


def test_batch_resolves_parents_in_the_same_batch_and_inherits_the_account(api: Api) -> None:
    _seed(api)
    with api.db.reader() as s:
        listing = s.execute(select(Subject).where(Subject.external_id == "lst-1")).scalar_one()
        shop = s.execute(select(Subject).where(Subject.external_id == "shop-1")).scalar_one()
        account = s.execute(select(Subject).where(Subject.external_id == "acc-1")).scalar_one()
    assert listing.parent_id == shop.id and listing.account_id == account.id and shop.account_id == account.id


def test_report_receipt_and_retry(api: Api) -> None:
    _seed(api)
    body = {"external_id": "rep-1", "subject_external_id": "lst-1", "policy_code": "COUNTERFEIT",
            "reporter_type": "user", "reporter_external_id": "acc-2", "text": "fake bag",
            "dsa": {"explanation": "Counterfeit logo", "notifier_name": "Ana", "notifier_email": "ana@example.org", "good_faith": True}}
    first = api.post("/api/v1/reports", body)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["id"] > 0 and receipt["received_at"] and receipt["status"] == "created"
    assert api.post("/api/v1/reports", body).json()["id"] == receipt["id"]
    assert api.post("/api/v1/reports", body | {"text": "other"}).status_code == 409


def test_unknown_subject_is_404_naming_the_field(api: Api) -> None:
    _seed(api)
    r = api.post("/api/v1/reports/batch", {"items": [
        {"external_id": "r1", "subject_external_id": "lst-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
        {"external_id": "r2", "subject_external_id": "nope", "policy_code": "SPAM", "reporter_type": "anonymous"},
    ]})
    assert r.status_code == 404
    assert r.json()["field"] == "items[1].subject_external_id"
    with api.db.reader() as s:  # all or nothing: r1 was not written either
        assert s.execute(select(func.count()).select_from(Report)).scalar_one() == 0


def test_invalid_fields_are_422_naming_them(api: Api) -> None:
    _seed(api)
    cases = [
        ({"external_id": "x", "kind": "spaceship"}, "kind"),
        ({"external_id": "x", "kind": "account", "country": "germany"}, "country"),
        ({"external_id": "x", "kind": "account", "colour": "red"}, "colour"),
        ({"external_id": "", "kind": "account"}, "external_id"),
        ({"external_id": "x", "kind": "photo", "media_url": "http://10.0.0.1/a.png"}, "media_url"),
        ({"external_id": "x", "kind": "photo", "media_url": "file:///etc/passwd"}, "media_url"),
        ({"external_id": "x", "kind": "photo", "media_url": "http://xn--a.example/"}, "media_url"),
        ({"external_id": "x", "kind": "photo", "media_url": "http://xn--media.example.com/a.png"}, "media_url"),
    ]
    for body, field in cases:
        r = api.post("/api/v1/subjects", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
    r = api.post("/api/v1/reports", {"external_id": "r", "subject_external_id": "lst-1", "policy_code": "NOPE", "reporter_type": "anonymous"})
    assert (r.status_code, r.json()["field"]) == (422, "policy_code")
    r = api.post("/api/v1/reports", {"external_id": "r", "subject_external_id": "lst-1", "policy_code": "SPAM", "reporter_type": "user"})
    assert (r.status_code, r.json()["field"]) == (422, "reporter_external_id")
    r = api.client.post("/api/v1/subjects", content=b"{not json", headers=api.auth | {"content-type": "application/json"})
    assert r.status_code == 422


def test_an_undecodable_media_host_in_a_batch_is_422_naming_the_item(api: Api) -> None:
    r = api.post("/api/v1/subjects/batch", {"items": [
        _account("acc-1"),
        {"external_id": "p1", "kind": "photo", "account_external_id": "acc-1", "media_url": "http://xn--a.example/a.png"},
    ]})
    assert (r.status_code, r.json()["field"]) == (422, "items[1].media_url"), r.text
    with api.db.reader() as s:
        assert s.execute(select(func.count()).select_from(Subject)).scalar_one() == 0


def test_oversized_body_is_413(api: Api) -> None:
    huge = "x" * (9 * 1024 * 1024)
    r = api.client.post("/api/v1/subjects", content=huge, headers=api.auth | {"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_batch_over_limit_is_422(api: Api) -> None:
    items = [_account(f"a{i}") for i in range(1001)]
    r = api.post("/api/v1/subjects/batch", {"items": items})
    assert r.status_code == 422 and r.json()["field"] == "items"


def test_update_is_explicit_and_audited_then_retry_of_new_content_is_idempotent(api: Api) -> None:
    api.post("/api/v1/subjects", _account())
    r = api.client.patch("/api/v1/subjects/acc-1", json={"country": "FR"}, headers=api.auth)
    assert r.status_code == 200 and r.json()["country"] == "FR"
    assert api.post("/api/v1/subjects", _account(country="FR")).status_code == 200
    assert api.client.patch("/api/v1/subjects/ghost", json={"country": "FR"}, headers=api.auth).status_code == 404
    with api.db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "subject")).scalars().all()
        assert verbs == ["subject.created", "subject.updated"]
        assert verify_chain(s).ok


def test_read_subject_with_children_reports_history_and_no_personal_values(api: Api) -> None:
    _seed(api)
    api.post("/api/v1/reports", {"external_id": "r1", "subject_external_id": "shop-1", "policy_code": "SCAM", "reporter_type": "trusted_flagger"})
    r = api.client.get("/api/v1/subjects/shop-1", headers=api.auth)
    assert r.status_code == 200
    detail = r.json()
    assert [c["external_id"] for c in detail["children"]] == ["lst-1"]
    assert [x["policy_code"] for x in detail["reports"]] == ["SCAM"]
    assert detail["history"][0]["verb"] == "subject.created"
    account = api.client.get("/api/v1/subjects/acc-1", headers=api.auth).json()
    assert account["subject"]["personal_fields"] == ["email"]
    assert "acc-1@example.org" not in str(account)
    assert api.client.get("/api/v1/subjects/ghost", headers=api.auth).status_code == 404


def test_account_events_and_media_upload(api: Api) -> None:
    _seed(api)
    ev = {"external_id": "ev-1", "account_external_id": "acc-1", "kind": "login", "occurred_at": "2026-11-01T10:00:00Z",
          "ip": "203.0.113.9", "device_id": "dev-1"}
    assert api.post("/api/v1/account-events", ev).status_code == 201
    assert api.post("/api/v1/account-events", ev | {"ip": "999.1.1.1", "external_id": "ev-2"}).json()["field"] == "ip"
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 20, 30)).save(buffer, format="PNG")
    png = buffer.getvalue()
    r = api.client.post("/api/v1/subjects/lst-1/media", files={"file": ("a.png", png, "image/png")}, headers=api.auth)
    assert r.status_code == 200, r.text
    [item] = r.json()["media"]
    assert (item["sha256"], item["content_type"], item["width"], item["height"]) == (hashlib.sha256(png).hexdigest(), "image/png", 3, 2)
    assert {h["algorithm"]: h["value"] for h in item["hashes"]} == {"md5": hashlib.md5(png).hexdigest(), "sha256": item["sha256"]}


def test_tokens_and_scopes_are_enforced(api: Api) -> None:
    assert api.client.post("/api/v1/subjects", json=_account()).status_code == 401
    r = api.client.post("/api/v1/subjects", json=_account(), headers={"Authorization": "Bearer td_nope_nope"})
    assert r.status_code == 401
