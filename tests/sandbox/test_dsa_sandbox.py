"""The DSA Transparency Database sandbox on its own: each rule of the statement API, the
Bearer token, batches all or nothing and at most 100, a repeated puid refused with 422."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from trustdesk.sandbox import dsa as dsa_module
from trustdesk.sandbox.dsa import DUPLICATE_PUID, DUPLICATE_PUIDS, DsaState, create_dsa_app

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def statement(**changes: Any) -> dict[str, Any]:
    body = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "Harassment (HARASSMENT, version 1)",
        "incompatible_content_explanation": "Insults aimed at one person are not allowed.",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "decision_facts": "Insults aimed at one person.",
        "content_date": "2026-01-02",
        "application_date": "2026-01-03",
        "source_type": "SOURCE_ARTICLE_16",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": "td-0001",
    }
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@pytest.fixture
def dsa() -> Iterator[TestClient]:
    with TestClient(create_dsa_app(DsaState(TOKEN))) as client:
        yield client


def test_one_statement_is_stored_with_a_uuid_and_listed(dsa: TestClient) -> None:
    answer = dsa.post("/api/v1/statement", json=statement(), headers=AUTH)
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["puid"] == "td-0001" and len(stored["uuid"]) == 36
    listing = dsa.get("/api/v1/statements", headers=AUTH)
    assert (listing.status_code, [s["uuid"] for s in listing.json()["statements"]]) == (200, [stored["uuid"]])


def test_a_repeated_puid_is_refused_naming_the_statement_already_there(dsa: TestClient) -> None:
    first = dsa.post("/api/v1/statement", json=statement(), headers=AUTH).json()
    again = dsa.post("/api/v1/statement", json=statement(decision_facts="Other facts."), headers=AUTH)
    assert again.status_code == 422
    assert again.json()["errors"] == {"puid": [DUPLICATE_PUID]}
    assert again.json()["existing"]["uuid"] == first["uuid"]


@pytest.mark.parametrize(("changes", "errors"), [
    ({"decision_facts": None}, {"decision_facts": ["The decision_facts field is required."]}),
    ({"content_type": []}, {"content_type": ["The content_type field is required."]}),
    ({"decision_visibility": None}, {"decision_visibility": [
        "At least one of decision_visibility, decision_monetary, decision_provision or decision_account is required."]}),
    ({"decision_facts": "x" * 5001}, {"decision_facts": ["The decision_facts field must not be greater than 5000 characters."]}),
    ({"puid": "td 1"}, {"puid": ["The puid format is invalid."]}),
    ({"puid": "p" * 501}, {"puid": ["The puid field must not be greater than 500 characters."]}),
    ({"category": "STATEMENT_CATEGORY_SPAM"}, {"category": ["The selected category is invalid."]}),
    ({"source_type": "SOURCE_GUESS"}, {"source_type": ["The selected source_type is invalid."]}),
    ({"automated_detection": "yes"}, {"automated_detection": ["The selected automated_detection is invalid."]}),
    ({"decision_account": "DECISION_ACCOUNT_DELETED"}, {"decision_account": ["The selected decision_account is invalid."]}),
    ({"content_type": "CONTENT_TYPE_TEXT"}, {"content_type": ["The content_type field must be an array."]}),
    ({"category_specification": ["KEYWORD_SPAM"]}, {"category_specification": ["The selected category_specification is invalid."]}),
    ({"territorial_scope": ["XX"]}, {"territorial_scope": ["The selected territorial_scope is invalid."]}),
    ({"content_language": "pt"}, {"content_language": ["The selected content_language is invalid."]}),
    ({"content_date": "2026-02-30"}, {"content_date": ["The content_date does not match the format Y-m-d."]}),
    ({"application_date": "03/01/2026"}, {"application_date": ["The application_date does not match the format Y-m-d."]}),
    ({"incompatible_content_explanation": None}, {"incompatible_content_explanation": [
        "The incompatible_content_explanation field is required when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT."]}),
    ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground": "Art. 1"}, {"illegal_content_explanation": [
        "The illegal_content_explanation field is required when decision_ground is DECISION_GROUND_ILLEGAL_CONTENT."]}),
    ({"incompatible_content_ground": "g" * 501}, {"incompatible_content_ground": [
        "The incompatible_content_ground field must not be greater than 500 characters."]}),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, {"decision_visibility_other": [
        "The decision_visibility_other field is required when decision_visibility is DECISION_VISIBILITY_OTHER."]}),
    ({"decision_monetary": "DECISION_MONETARY_OTHER"}, {"decision_monetary_other": [
        "The decision_monetary_other field is required when decision_monetary is DECISION_MONETARY_OTHER."]}),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, {"content_type_other": [
        "The content_type_other field is required when content_type is CONTENT_TYPE_OTHER."]}),
    ({"category_specification": ["KEYWORD_OTHER"]}, {"category_specification_other": [
        "The category_specification_other field is required when category_specification is KEYWORD_OTHER."]}),
])
def test_each_rule_refuses_with_422_naming_the_field(dsa: TestClient, changes: dict[str, Any], errors: dict[str, list[str]]) -> None:
    answer = dsa.post("/api/v1/statement", json=statement(**changes), headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == errors
    assert dsa.get("/api/v1/statements", headers=AUTH).json()["statements"] == []


def test_what_the_rules_allow_is_accepted(dsa: TestClient) -> None:
    body = statement(
        decision_ground="DECISION_GROUND_ILLEGAL_CONTENT", illegal_content_legal_ground="Art. 1",
        illegal_content_explanation="Why.", incompatible_content_ground=None, incompatible_content_explanation=None,
        decision_visibility=None, decision_account="DECISION_ACCOUNT_SUSPENDED", end_date_account_restriction="2026-02-01",
        content_type=["CONTENT_TYPE_OTHER"], content_type_other="account", category_specification=["KEYWORD_OTHER"],
        category_specification_other="Something else", territorial_scope=["DE", "FR"], content_language="PT",
        account_type="ACCOUNT_TYPE_PRIVATE", unknown_field="ignored, as the database ignores it",
    )
    assert dsa.post("/api/v1/statement", json=body, headers=AUTH).status_code == 201


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_without_the_bearer_token_nothing_is_taken(dsa: TestClient, headers: dict[str, str]) -> None:
    assert dsa.post("/api/v1/statement", json=statement(), headers=headers).status_code == 401
    assert dsa.post("/api/v1/statements", json={"statements": [statement()]}, headers=headers).status_code == 401
    assert dsa.get("/api/v1/statements", headers=headers).status_code == 401


def test_a_batch_is_stored_whole_or_refused_whole_naming_each_statement(dsa: TestClient) -> None:
    batch = [statement(puid="a"), statement(puid="b", category="NOPE"), statement(puid="a")]
    refused = dsa.post("/api/v1/statements", json={"statements": batch}, headers=AUTH)
    assert refused.status_code == 422
    assert refused.json() == {"errors": {"statement_1": {"category": ["The selected category is invalid."]}}}
    duplicate = dsa.post("/api/v1/statements", json={"statements": [batch[0], batch[2]]}, headers=AUTH)
    assert (duplicate.status_code, duplicate.json()["errors"]) == (422, {"puid": [DUPLICATE_PUIDS], "existing_puids": ["a"]})
    assert dsa.get("/api/v1/statements", headers=AUTH).json()["statements"] == []

    stored = dsa.post("/api/v1/statements", json={"statements": [statement(puid="a"), statement(puid="b")]}, headers=AUTH)
    assert stored.status_code == 201
    assert [s["puid"] for s in stored.json()["statements"]] == ["a", "b"]
    again = dsa.post("/api/v1/statements", json={"statements": [statement(puid="c"), statement(puid="b")]}, headers=AUTH)
    assert (again.status_code, again.json()["errors"]) == (422, {"puid": [DUPLICATE_PUIDS], "existing_puids": ["b"]})


@pytest.mark.parametrize(("body", "errors"), [
    ({"statements": [statement(puid=f"p{n}") for n in range(101)]}, {"statements": ["The statements field must not have more than 100 items."]}),
    ({"statements": []}, {"statements": ["The statements field is required and must be a non-empty array."]}),
    ([statement()], {"statements": ["The statements field is required and must be a non-empty array."]}),
])
def test_a_batch_has_1_to_100_statements(dsa: TestClient, body: Any, errors: dict[str, list[str]]) -> None:
    answer = dsa.post("/api/v1/statements", json=body, headers=AUTH)
    assert (answer.status_code, answer.json()["errors"]) == (422, errors)


def test_100_statements_are_one_batch(dsa: TestClient) -> None:
    answer = dsa.post("/api/v1/statements", json={"statements": [statement(puid=f"p{n}") for n in range(100)]}, headers=AUTH)
    assert (answer.status_code, len(answer.json()["statements"])) == (201, 100)


def test_the_control_route_answers_loopback_clients_only(dsa: TestClient) -> None:
    assert dsa.post("/control/fail", json={"status": 503, "count": 1}).status_code == 403


def test_the_sandbox_checks_with_none_of_trustdesks_own_code() -> None:
    source = Path(dsa_module.__file__).read_text(encoding="utf-8")
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not [name for name in imported if name and name.startswith("trustdesk")]
