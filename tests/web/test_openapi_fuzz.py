"""Schemathesis over every operation of the OpenAPI document: whatever a client sends, the API
answers without a 5xx, and every answer (status, content type, headers, body) is one that the
document declares.

Every operation is fuzzed on SQLite, and a sample of operations (those that store client text
and numbers) on PostgreSQL, which refuses more than SQLite does. Each example is sent as one of
three callers: the host platform's API client, a moderator, and a lead holding every staff
role. Each test starts from a fresh copy of a seeded database (queues, subjects, an open case
held by the lead, an action, a bulk operation, a notifier under measures), so its examples never
depend on which tests ran before it or on which worker.

The examples are derandomized, so CI is reproducible. `TRUSTDESK_FUZZ_EXAMPLES` sets the
examples per operation (default 40); `TRUSTDESK_FUZZ_SEED` explores another, still
reproducible, sequence.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, seed, settings, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import TEST_PASSWORD_HASHING, TEST_SECRET
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Scope
from trustdesk.enforcement.actions import apply_action
from trustdesk.enforcement.bulk import start_bulk
from trustdesk.enforcement.decisions import DecisionRequest
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import Case, NotifierRecord, StaffUser, Subject, utcnow
from trustdesk.web.app import create_app

EXAMPLES = int(os.environ.get("TRUSTDESK_FUZZ_EXAMPLES", "40"))
SEED = os.environ.get("TRUSTDESK_FUZZ_SEED")
CALLERS = ("client", "moderator", "lead")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# PostgreSQL refuses what SQLite keeps (NUL in text, numbers beyond a column).
POSTGRES_SAMPLE = r"^/api/v1/(subjects|reports|account-events)(/batch)?$|^/api/v1/queues|/decision$|/comments$|^/api/v1/bulk$|^/api/v1/text-banks"
SETUP = Actor("test", "fuzz")
# Seconds an answer may take. These tests judge what comes back, not how fast (that is `bench/`);
# schemathesis's 10 s default failed a plain read once, on a CI machine busy with other tests.
ANSWER_WITHIN = 120


def _openapi() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database("sqlite:///:memory:")
        app: FastAPI = create_app(Settings(data_dir=Path(tmp), secret_key=TEST_SECRET), db)
        db.dispose()
    return app.openapi()


SCHEMA = schemathesis.openapi.from_dict(_openapi())


Tokens = dict[str, str]  # caller → bearer token


def _seed(app: FastAPI, db: Database, settings: Settings) -> Tokens:
    """The objects the operations act on; ids stay small, so generated ids often find them."""
    with db.session() as s:
        seed_catalogue(s, SETUP)
        seed_queues(s, SETUP)
        dating = ensure_app(s, SETUP, "dating", "Dating")
        tokens = {"client": api_clients.create_client(s, SETUP, dating, "backend", list(Scope))[1]}
        for name, roles in (("moderator", ["moderator"]), ("lead", ["admin", "senior", "escalations", "child-safety", "moderator"])):
            user = staff.create_user(s, SETUP, settings, username=name, password="long enough password", roles=roles, with_totp=False)
            tokens[name] = api_clients.create_staff_token(s, SETUP, user, "fuzz")[1]
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {tokens['client']}"}
        created = client.post("/api/v1/subjects/batch", headers=auth, json={"items": [
            {"external_id": "1", "kind": "account", "personal": {"email": "one@example.org"}},
            {"external_id": "2", "kind": "shop", "account_external_id": "1"},
            {"external_id": "3", "kind": "listing", "parent_external_id": "2", "title": "Bag"},
            {"external_id": "4", "kind": "post", "account_external_id": "1", "text": "buy followers"},
        ]})
        assert created.status_code == 200, created.text
        for external_id, subject, policy in (("1", "4", "SPAM"), ("2", "3", "COUNTERFEIT")):
            filed = client.post("/api/v1/reports", headers=auth, json={
                "external_id": external_id, "subject_external_id": subject, "policy_code": policy, "reporter_type": "anonymous"})
            assert filed.status_code == 201, filed.text
    with db.session() as s:
        lead = s.execute(select(StaffUser.id).where(StaffUser.username == "lead")).scalar_one()
        case = s.execute(select(Case).order_by(Case.id)).scalars().first()
        case.claimed_by, case.lease_until = lead, utcnow() + timedelta(days=1)
        listing = s.execute(select(Subject).where(Subject.external_id == "3")).scalar_one()
        apply_action(s, SETUP, listing, "remove")
        start_bulk(s, lead, SETUP, [listing.id], DecisionRequest("SPAM", verdict="no_violation"))
        s.add(NotifierRecord(key="account:1", app_id=dating.id, founded=0, unfounded=20, unfounded_at_measure=20,
                             warned_at=utcnow(), suspended_until=utcnow() + timedelta(days=30)))
    return tokens


@dataclass
class Target:
    app: FastAPI
    tokens: Tokens

    def auth(self, caller: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[caller]}"}


def _target(tmp_path: Path, url: str) -> tuple[FastAPI, Database]:
    personal_data.configure(TEST_SECRET)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key=TEST_SECRET, log_json=False,
                        password_hashing=TEST_PASSWORD_HASHING)
    db = Database(url)
    return create_app(settings, db), db


@pytest.fixture(scope="session")
def sqlite_seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tokens]:
    folder = tmp_path_factory.mktemp("fuzz-template")
    url = f"sqlite:///{folder / 'trustdesk.db'}"
    upgrade(url)
    app, db = _target(folder, url)
    try:
        return folder / "trustdesk.db", _seed(app, db, app.state.settings)
    finally:
        db.dispose()


@pytest.fixture
def on_sqlite(sqlite_seeded: tuple[Path, Tokens], tmp_path: Path) -> Iterator[Target]:
    template, tokens = sqlite_seeded
    shutil.copy(template, tmp_path / "trustdesk.db")
    app, db = _target(tmp_path, f"sqlite:///{tmp_path / 'trustdesk.db'}")
    yield Target(app, tokens)
    db.dispose()


@pytest.fixture
def on_postgresql(database_url: str, tmp_path: Path) -> Iterator[Target]:
    app, db = _target(tmp_path, database_url)
    yield Target(app, _seed(app, db, app.state.settings))
    db.dispose()


def _fuzzed(test: Any) -> Any:
    """Bounded, reproducible examples; the same app answers all of them."""
    configured = settings(
        max_examples=EXAMPLES, derandomize=SEED is None, database=None, deadline=None, print_blob=True,
        suppress_health_check=list(HealthCheck),
    )(test)
    return seed(int(SEED))(configured) if SEED is not None else configured


@SCHEMA.parametrize()
@SCHEMA.given(caller=strategies.sampled_from(CALLERS))
@_fuzzed
def test_every_operation_on_sqlite(case: schemathesis.Case, caller: str, on_sqlite: Target) -> None:
    case.call_and_validate(app=on_sqlite.app, headers=on_sqlite.auth(caller), checks=CHECKS, timeout=ANSWER_WITHIN)


@SCHEMA.include(path_regex=POSTGRES_SAMPLE).parametrize()
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@SCHEMA.given(caller=strategies.sampled_from(CALLERS))
@_fuzzed
def test_a_sample_of_operations_on_postgresql(case: schemathesis.Case, caller: str, on_postgresql: Target) -> None:
    case.call_and_validate(app=on_postgresql.app, headers=on_postgresql.auth(caller), checks=CHECKS, timeout=ANSWER_WITHIN)
