"""Client input that once answered 500 is refused with a 4xx naming the field, on both databases.

Integers beyond signed 64 bits, JSON nested too deep, NUL characters in any text (path, query,
header, form or JSON), an admin's queue numbers beyond what the SLA sweep can compute with:
each is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Annotated, Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.params import Form
from pydantic import TypeAdapter
from sqlalchemy import func, select

from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.config import Settings
from trustdesk.domain.client_input import INT64_MAX, MAX_JSON_DEPTH
from trustdesk.store.database import Database
from trustdesk.store.models import AccountEvent, Queue, Subject
from trustdesk.web.app import create_app
from trustdesk.web.client_input import ClientInputRoute

SETUP = Actor("test", "setup")
TOO_BIG = 2**63


@pytest.fixture
def admin(api: Api, settings: Settings) -> dict[str, str]:
    """Headers of a staff token holding every role that the routes below need."""
    with api.db.session() as session:
        user = staff.create_user(session, SETUP, settings, username="lead", password="long enough password",
                                 roles=["admin", "senior", "moderator"], with_totp=False)
        token = api_clients.create_staff_token(session, SETUP, user, "tests")[1]
    return {"Authorization": f"Bearer {token}"}


def _refused(response: Any, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text


def _subjects(api: Api) -> int:
    with api.db.reader() as session:
        return session.execute(select(func.count()).select_from(Subject)).scalar_one()


@pytest.mark.parametrize(("extra", "field"), [
    ({"reach": {"followers": TOO_BIG}}, "reach.followers"),
    ({"reach": {"views": 2**64}}, "reach.views"),
    ({"attributes": {"price": TOO_BIG}}, "attributes.price"),
    ({"attributes": {"sizes": [1, 2, {"max": 2**64}]}}, "attributes.sizes[2].max"),
    ({"attributes": {"debt": -(2**63) - 1}}, "attributes.debt"),
    ({"attributes": {"huge": 10**40}}, "attributes.huge"),
])
def test_integers_beyond_64_bits_are_refused_naming_the_field(api: Api, extra: dict[str, Any], field: str) -> None:
    _refused(api.post("/api/v1/subjects", {"external_id": "a1", "kind": "account"} | extra), field)
    assert _subjects(api) == 0


def test_the_largest_64_bit_integers_are_kept(api: Api) -> None:
    body = {"external_id": "a1", "kind": "account", "reach": {"followers": INT64_MAX}, "attributes": {"low": -(2**63)}}
    assert api.post("/api/v1/subjects", body).status_code == 201
    with api.db.reader() as session:
        stored = session.execute(select(Subject)).scalar_one()
    assert (stored.reach["followers"], stored.attributes["low"]) == (INT64_MAX, -(2**63))


def test_an_amount_beyond_64_bits_is_refused(api: Api) -> None:
    assert api.post("/api/v1/subjects", {"external_id": "a1", "kind": "account"}).status_code == 201
    event = {"external_id": "e1", "account_external_id": "a1", "kind": "purchase", "occurred_at": "2025-01-01T00:00:00Z"}
    _refused(api.post("/api/v1/account-events", event | {"amount_cents": TOO_BIG}), "amount_cents")
    _refused(api.post("/api/v1/account-events/batch", {"items": [event | {"amount_cents": TOO_BIG}]}), "items[0].amount_cents")
    with api.db.reader() as session:
        assert session.execute(select(func.count()).select_from(AccountEvent)).scalar_one() == 0


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("GET", f"/api/v1/cases/{TOO_BIG}", None, "case_id"),
    ("GET", f"/api/v1/cases/{TOO_BIG}/decisions", None, "case_id"),
    ("POST", f"/api/v1/cases/{TOO_BIG}/renew", None, "case_id"),
    ("GET", f"/api/v1/queues/{TOO_BIG}/cases", None, "queue_id"),
    ("GET", "/api/v1/queues/1/cases?limit=" + str(TOO_BIG), None, "limit"),
    ("PUT", f"/api/v1/queues/{TOO_BIG}", {"name": "Q", "is_default": True}, "queue_id"),
    ("GET", f"/api/v1/subjects/{TOO_BIG}/cascade", None, "subject_id"),
    ("POST", f"/api/v1/actions/{TOO_BIG}/undo", None, "action_id"),
    ("GET", f"/api/v1/bulk/{TOO_BIG}", None, "operation_id"),
    ("POST", "/api/v1/bulk", {"subject_ids": [1, TOO_BIG], "decision": {"policy_code": "SPAM", "verdict": "no_violation"}},
     "subject_ids[1]"),
    ("POST", "/api/v1/cases/1/assign", {"staff_id": TOO_BIG}, "staff_id"),
    ("POST", "/api/v1/cases/1/decision", {"policy_code": "SPAM", "verdict": "no_violation", "time_spent_ms": 2**40}, "time_spent_ms"),
])
def test_ids_the_database_cannot_hold_are_refused_naming_them(
    api: Api, admin: dict[str, str], method: str, path: str, body: Any, field: str,
) -> None:
    _refused(api.client.request(method, path, json=body, headers=admin), field)


def test_console_ids_the_database_cannot_hold_are_refused(api: Api, admin: dict[str, str]) -> None:
    for path in (f"/cases/{TOO_BIG}", f"/subjects/{TOO_BIG}", f"/queues/{TOO_BIG}", f"/bulk/{TOO_BIG}"):
        assert api.client.get(path, headers=admin).status_code == 422, path


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH, 300, 100_000])
def test_json_nested_too_deep_is_refused_naming_body(api: Api, levels: int) -> None:
    body = '{"external_id": "a1", "kind": "account", "attributes": {"x": ' + _nested(levels) + "}}"
    response = api.client.post("/api/v1/subjects", content=body, headers=api.auth | {"content-type": "application/json"})
    _refused(response, "body")
    assert _subjects(api) == 0


def test_json_as_deep_as_allowed_is_kept(api: Api) -> None:
    # The body, `attributes` and `x` are three levels: the rest may nest up to the limit.
    body = '{"external_id": "a1", "kind": "account", "attributes": {"x": ' + _nested(MAX_JSON_DEPTH - 2) + "}}"
    assert api.client.post("/api/v1/subjects", content=body, headers=api.auth | {"content-type": "application/json"}).status_code == 201


@pytest.mark.parametrize(("extra", "field"), [
    ({"title": "a\x00b"}, "title"),
    ({"text": "\x00"}, "text"),
    ({"attributes": {"note": ["fine", "not\x00fine"]}}, "attributes.note[1]"),
    ({"attributes": {"bad\x00name": 1}}, "attributes.bad\x00name"),
    ({"personal": {"display_name": "Eve\x00"}}, "personal.display_name"),
])
def test_a_nul_character_in_json_text_is_refused_naming_the_field(api: Api, extra: dict[str, Any], field: str) -> None:
    _refused(api.post("/api/v1/subjects", {"external_id": "a1", "kind": "account"} | extra), field)
    assert _subjects(api) == 0


def test_a_nul_character_in_a_path_query_or_header_is_refused_naming_it(api: Api, admin: dict[str, str]) -> None:
    assert api.post("/api/v1/subjects", {"external_id": "a1", "kind": "account"}).status_code == 201
    _refused(api.client.patch("/api/v1/subjects/a1%00", json={"title": "x"}, headers=api.auth), "external_id")
    _refused(api.client.get("/api/v1/subjects/%00", headers=api.auth), "external_id")
    _refused(api.client.post("/api/v1/notifiers/user%00x/reinstate", headers=admin), "key")
    _refused(api.client.get("/api/v1/queues?policy%00=1", headers=admin), "policy\x00")
    _refused(api.client.get("/api/v1/subjects/a1", headers={"Authorization": "Bearer td_ab\x00c_secret"}), "authorization")


def test_a_nul_character_in_a_console_form_is_refused(api: Api, settings: Settings) -> None:
    with api.db.session() as session:
        staff.create_user(session, SETUP, settings, username="mia", password="long enough password", roles=["moderator"], with_totp=False)
    assert api.log_in("mia\x00", "long enough password").status_code == 422
    assert api.log_in("mia", "long enough password").status_code == 303


def test_a_media_content_type_longer_than_a_column_is_not_a_server_error(api: Api) -> None:
    assert api.post("/api/v1/subjects", {"external_id": "a1", "kind": "account"}).status_code == 201
    upload = api.client.post("/api/v1/subjects/a1/media", files={"file": ("x.txt", b"plain words", "text/" + "x" * 300)}, headers=api.auth)
    assert upload.status_code == 200, upload.text
    assert upload.json()["media"][0]["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(("change", "field"), [
    ({"sla_minutes": {"P0": 10**10, "P1": 60, "P2": 60, "P3": 60}}, "sla_minutes.P0"),
    ({"sla_minutes": {"P0": 0, "P1": 60, "P2": 60, "P3": 60}}, "sla_minutes.P0"),
    ({"escalate_minutes_before_breach": 10**12, "escalation_queue": "Other"}, "escalate_minutes_before_breach"),
    ({"position": 2**40}, "position"),
    ({"exposure_limit_per_hour": 2**31}, "exposure_limit_per_hour"),
])
def test_queue_numbers_are_bounded_when_saved(api: Api, admin: dict[str, str], change: dict[str, Any], field: str) -> None:
    base = {"name": "Scams", "routing_expression": "policy.code == 'SCAM'"}
    assert api.client.post("/api/v1/queues", json={"name": "Other", "is_default": True}, headers=admin).status_code == 201
    _refused(api.client.post("/api/v1/queues", json=base | change, headers=admin), field)
    created = api.client.post("/api/v1/queues", json=base, headers=admin)
    assert created.status_code == 201
    _refused(api.client.put(f"/api/v1/queues/{created.json()['id']}", json=base | change, headers=admin), field)
    with api.db.reader() as session:
        saved = session.execute(select(Queue).where(Queue.name == "Scams")).scalar_one()
    assert (saved.sla_minutes["P0"], saved.escalate_minutes_before_breach, saved.position) == (60, None, 100)


def test_times_carry_their_utc_offset_and_an_offset_sent_is_kept(api: Api) -> None:
    body = {"external_id": "a1", "kind": "account", "created_at": "2025-03-01T12:00:00+02:00"}
    first, retry = api.post("/api/v1/subjects", body), api.post("/api/v1/subjects", body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["received_at"] == first.json()["received_at"]
    assert retry.json()["received_at"].endswith("Z")
    read = api.client.get("/api/v1/subjects/a1", headers=api.auth).json()["subject"]
    assert read["created_at"] == "2025-03-01T10:00:00Z"
    with api.db.reader() as session:
        stored = session.execute(select(Subject.created_at, Subject.received_at)).one()
    assert stored.created_at == datetime(2025, 3, 1, 10, tzinfo=timezone.utc) and stored.received_at.utcoffset() is not None


def _routes(app: FastAPI) -> Iterator[Any]:
    """Every API route the app serves (FastAPI wraps included routers; unwrap them)."""
    for route in app.routes:
        for candidate in getattr(route, "effective_candidates", lambda r=route: [r])():
            yield from _routes_of(candidate)


def _routes_of(candidate: Any) -> Iterator[Any]:
    if hasattr(candidate, "effective_candidates"):
        for inner in candidate.effective_candidates():
            yield from _routes_of(inner)
    else:
        route = getattr(candidate, "original_route", candidate)
        if hasattr(route, "dependant"):
            yield route


def _unbounded_integers(schema: Any) -> bool:
    if isinstance(schema, dict):
        if schema.get("type") == "integer" and "maximum" not in schema:
            return True
        return any(_unbounded_integers(value) for value in schema.values())
    return isinstance(schema, list) and any(_unbounded_integers(item) for item in schema)


def test_every_route_checks_client_input_and_bounds_its_integer_parameters(settings: Settings, db: Database) -> None:
    """Path, query and form integers reach the database as they are (JSON numbers are bounded for all)."""
    routes = list(_routes(create_app(settings, db)))
    assert len(routes) > 50
    unchecked = [route.path for route in routes if not isinstance(route, ClientInputRoute)]
    assert unchecked == [], "use ClientInputRoute as the router's route_class"
    unbounded = []
    for route in routes:
        params = route.dependant.path_params + route.dependant.query_params
        params += [p for p in route.dependant.body_params if isinstance(p.field_info, Form)]
        for param in params:
            info = param.field_info
            annotated = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            if _unbounded_integers(TypeAdapter(annotated).json_schema()):
                unbounded.append(f"{route.path} {param.name}")
    assert unbounded == [], "bound these integers (an id: trustdesk.web.client_input.RowId)"


def test_every_refusal_has_the_error_body_the_openapi_document_declares(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    refusals = [op["responses"]["4XX"] for path, ops in document["paths"].items() if path.startswith("/api/") for op in ops.values()]
    assert refusals and all(r["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"} for r in refusals)
    assert "HTTPValidationError" not in document["components"]["schemas"]  # FastAPI's default, which the API never sends
    validator = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/ErrorOut", "components": document["components"]})
    answers = [
        api.post("/api/v1/subjects", {"external_id": "a1", "kind": "spaceship", "colour": "red"}),  # 422, several fields
        api.client.post("/api/v1/subjects", content=b"{not json", headers=api.auth | {"content-type": "application/json"}),
        api.client.get("/api/v1/subjects/nobody", headers=api.auth),  # 404
        api.client.get("/api/v1/subjects/nobody"),  # 401
    ]
    assert [a.status_code for a in answers] == [422, 422, 404, 401]
    for answer in answers:
        assert validator.is_valid(answer.json()), answer.text
    assert not validator.is_valid({"detail": [{"loc": ["body"], "msg": "FastAPI's own shape", "type": "x"}]})
    assert {e["field"] for e in answers[0].json()["errors"]} == {"kind", "colour"}


def test_what_the_fuzzer_found_undocumented_is_documented(api: Api) -> None:
    """An identical intake retry answers 200 with the receipt, and /metrics answers text, not JSON."""
    document = api.client.get("/openapi.json").json()
    for path in ("/api/v1/subjects", "/api/v1/reports", "/api/v1/account-events"):
        retry = document["paths"][path]["post"]["responses"]["200"]
        assert retry["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Receipt"}
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    assert api.client.get("/metrics").headers["content-type"].startswith("text/plain")
