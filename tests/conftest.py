"""Shared fixtures. Every storage test takes `db` and so runs on SQLite and on PostgreSQL.

PostgreSQL is found through TRUSTDESK_TEST_POSTGRES_URL (default: the local server's `test`
database); each test run creates its own database next to it and drops it at the end. When no
server answers, the PostgreSQL half of each test is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_client, create_staff_token
from trustdesk.config import PasswordHashing, Settings
from trustdesk.domain.vocabulary import Scope
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import Base, StaffUser
from trustdesk.web.app import create_app
from trustdesk.web.permissions import CSRF_HEADER, SESSION_COOKIE

ADMIN_URL = os.environ.get("TRUSTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_SECRET = "test-secret-key-0123456789"
# Argon2id at its least cost: staff are created and log in throughout the suite, and at the
# default cost each hash takes a quarter of a second. `test_staff_login` also runs the default.
TEST_PASSWORD_HASHING = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)


def _postgres_unavailable() -> str | None:
    try:
        engine = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server to test against"
        return f"PostgreSQL not reachable at {ADMIN_URL}: {exc.__class__.__name__}"
    return None


@contextmanager
def empty_postgres_database() -> Iterator[str]:
    """A new, empty database next to the test server's (skips without a server); dropped after."""
    reason = _postgres_unavailable()
    if reason:
        pytest.skip(reason)
    name = f"trustdesk_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with empty_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


# Every sequence a test used starts again (ids from 1, as on a fresh database); `%%` is psycopg's `%`.
_RESTART_USED_SEQUENCES = """DO $$ DECLARE used record; BEGIN
  FOR used IN SELECT schemaname, sequencename FROM pg_sequences WHERE last_value IS NOT NULL LOOP
    EXECUTE format('ALTER SEQUENCE %%I.%%I RESTART', used.schemaname, used.sequencename);
  END LOOP;
END $$"""


def _reset_postgres(url: str) -> None:
    """Empty every table, children first, and restart the sequences used. DELETE, not TRUNCATE:
    a test leaves a few rows, and truncating all 64 tables (new files for each and its indexes)
    took 0.7–1.5 s a test on a busy 2-core machine, against about 70 ms for this."""
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "audit_chain_head"]
    with engine.begin() as conn:
        conn.exec_driver_sql("; ".join(f'DELETE FROM "{name}"' for name in tables))
        conn.exec_driver_sql(_RESTART_USED_SEQUENCES)
        conn.execute(text("UPDATE audit_chain_head SET seq = 0, block_hash = :h WHERE id = 1"), {"h": "0" * 64})
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "trustdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    personal_data.configure(TEST_SECRET)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET,
        media_url_allow_list=("127.0.0.1",),
        log_json=False,
        password_hashing=TEST_PASSWORD_HASHING,
    )


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings, also in the environment, as the `trustdesk` command reads them."""
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TRUSTDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRUSTDESK_SECRET_KEY", settings.secret_key)
    for name, value in vars(settings.password_hashing).items():
        monkeypatch.setenv(f"TRUSTDESK_PASSWORD_{name.upper()}", str(value))
    return settings


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.effective_database_url)
    yield database
    database.dispose()


@dataclass
class Api:
    """A TestClient on a migrated database with the catalogue, one app and a full-scope client."""

    client: TestClient
    db: Database
    token: str
    app_id: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers=self.auth)

    def staff_token(self, user_id: int) -> dict[str, str]:
        """Headers of a fresh personal API token of that staff user (no state shared between calls)."""
        with self.db.session() as s:
            _client, token = create_staff_token(s, Actor("test", "setup"), s.get_one(StaffUser, user_id), "tests")
        return {"Authorization": f"Bearer {token}"}

    def open_console(self, settings: Settings, user_id: int) -> dict[str, str]:
        """Give the client that staff user's console session; returns the CSRF header to send."""
        with self.db.session() as s:
            token = staff.open_session(s, settings, s.get_one(StaffUser, user_id))
        with self.db.reader() as s:
            found = staff.resolve_session(s, token)
            assert found is not None
        self.client.cookies.set(SESSION_COOKIE, token)
        return {CSRF_HEADER: found.csrf_token}

    def log_in(self, username: str, password: str, totp: str = "", next: str = "/") -> Any:
        """Log in through the console form, with the form's login CSRF token as a browser would."""
        form = self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, "the login form carries no CSRF token"
        data = {"username": username, "password": password, "totp": totp, "next": next, "csrf_token": token.group(1)}
        return self.client.post("/login", data=data, follow_redirects=False)


@pytest.fixture
def api(settings: Settings, db: Database) -> Iterator[Api]:
    actor = Actor("test", "setup")
    with db.session() as session:
        seed_catalogue(session, actor)
        dating = ensure_app(session, actor, "dating", "Dating")
        _client, token = create_client(session, actor, dating, "dating-backend", list(Scope))
        app_id = dating.id
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        yield Api(client, db, token, app_id)
