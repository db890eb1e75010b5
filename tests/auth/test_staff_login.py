"""Staff login through the services: hashing, lockout, second factor, sessions, rate limits.

Lockouts, sessions and rate-limit counters must live in the database, so several tests check
them through a second `Database` on the same URL: what another process would see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from trustdesk.audit.log import Actor
from trustdesk.auth import rate_limits, staff
from trustdesk.auth.passwords import verify_password
from trustdesk.auth.staff import LoginOutcome
from trustdesk.config import ConfigError, Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, StaffSession, StaffUser, as_utc, utcnow

SETUP = Actor("test", "setup")
PASSWORD = "correct horse battery"


@pytest.fixture
def other_db(db: Database) -> Iterator[Database]:
    """Another process's view of the same database."""
    other = Database(db.url)
    yield other
    other.dispose()


def _create(db: Database, settings: Settings, username: str, *roles: Role) -> StaffUser:
    with db.session() as session:
        return staff.create_user(session, SETUP, settings, username=username, password=PASSWORD, roles=roles or (Role.MODERATOR,))


def _login(db: Database, settings: Settings, username: str, password: str = PASSWORD, code: str | None = None) -> LoginOutcome:
    with db.session() as session:
        return staff.authenticate(session, settings, username, password, code).outcome


def _user(db: Database, username: str) -> StaffUser:
    with db.reader() as session:
        return session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one()


def _open_session(db: Database, settings: Settings, username: str) -> str:
    with db.session() as session:
        user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one()
        return staff.open_session(session, settings, user)


def _verbs(db: Database, user: StaffUser) -> list[str]:
    with db.reader() as session:
        return list(session.execute(
            select(AuditEvent.verb)
            .where(AuditEvent.object_type == "staff_user", AuditEvent.object_id == str(user.id))
            .order_by(AuditEvent.id)
        ).scalars())


def _wrong_code(secret: str) -> str:
    """A six-digit code the authenticator would not accept right now."""
    totp = pyotp.TOTP(secret)
    return next(code for code in ("000000", "111111", "222222") if not totp.verify(code, valid_window=1))


def test_only_an_argon2_hash_of_the_password_is_stored(db: Database, settings: Settings) -> None:
    _create(db, settings, "mia")
    stored = _user(db, "mia").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "!")


def test_good_login_is_recorded(db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    assert _login(db, settings, "mia") is LoginOutcome.OK
    assert _user(db, "mia").last_login_at is not None
    assert _verbs(db, user) == ["staff.created", "staff.login"]


def test_unknown_user_is_refused_like_a_wrong_password(db: Database, settings: Settings) -> None:
    assert _login(db, settings, "nobody") is LoginOutcome.BAD_CREDENTIALS


def test_wrong_passwords_count_and_a_good_login_resets_the_count(db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    for _ in range(2):
        assert _login(db, settings, "mia", "wrong password!!") is LoginOutcome.BAD_CREDENTIALS
    assert _user(db, "mia").failed_logins == 2
    assert _verbs(db, user).count("staff.login_failed") == 2
    assert _login(db, settings, "mia") is LoginOutcome.OK
    assert _user(db, "mia").failed_logins == 0


def test_lockout_refuses_even_the_right_password_in_every_process(db: Database, other_db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    outcomes = [_login(db, settings, "mia", "wrong password!!") for _ in range(settings.login_max_failures)]
    assert outcomes == [LoginOutcome.BAD_CREDENTIALS] * (settings.login_max_failures - 1) + [LoginOutcome.LOCKED]

    locked_until = _user(other_db, "mia").locked_until
    assert locked_until is not None and as_utc(locked_until) > utcnow()
    assert _login(db, settings, "mia") is LoginOutcome.LOCKED
    assert _login(other_db, settings, "mia") is LoginOutcome.LOCKED

    verbs = _verbs(db, user)
    assert verbs.count("staff.login_failed") == settings.login_max_failures
    assert verbs.count("staff.login_refused_locked") == 2
    with db.reader() as session:
        last_failure = session.execute(
            select(AuditEvent).where(AuditEvent.verb == "staff.login_failed").order_by(AuditEvent.id.desc())
        ).scalars().first()
    assert last_failure is not None and last_failure.after is not None and "locked_until" in last_failure.after


def test_an_expired_lockout_lets_the_user_in_again(db: Database, settings: Settings) -> None:
    _create(db, settings, "mia")
    for _ in range(settings.login_max_failures):
        _login(db, settings, "mia", "wrong password!!")
    with db.session() as session:
        session.execute(update(StaffUser).where(StaffUser.username == "mia").values(locked_until=utcnow() - timedelta(seconds=1)))
    assert _login(db, settings, "mia") is LoginOutcome.OK


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEGAL, Role.CHILD_SAFETY])
def test_sensitive_roles_need_the_second_factor(db: Database, settings: Settings, role: Role) -> None:
    secret = _create(db, settings, "ada", role).totp_secret
    assert secret is not None
    assert _login(db, settings, "ada") is LoginOutcome.NEED_TOTP
    assert _login(db, settings, "ada", code=_wrong_code(secret)) is LoginOutcome.BAD_TOTP
    assert _user(db, "ada").failed_logins == 1
    assert _login(db, settings, "ada", "wrong password!!", pyotp.TOTP(secret).now()) is LoginOutcome.BAD_CREDENTIALS
    assert _login(db, settings, "ada", code=pyotp.TOTP(secret).now()) is LoginOutcome.OK


def test_other_roles_get_no_second_factor_by_default(db: Database, settings: Settings) -> None:
    assert _create(db, settings, "mia", Role.MODERATOR, Role.ANALYST).totp_secret is None
    assert _login(db, settings, "mia") is LoginOutcome.OK


def test_relaxed_demo_settings_let_an_admin_in_without_a_second_factor(db: Database, settings: Settings) -> None:
    relaxed = replace(settings, relax_totp=True)
    assert _create(db, relaxed, "ada", Role.ADMIN).totp_secret is None
    assert _login(db, relaxed, "ada") is LoginOutcome.OK
    assert _login(db, settings, "ada") is LoginOutcome.TOTP_NOT_ENROLLED


def test_production_refuses_the_demo_secret_and_relaxed_totp() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings(env="production").check()
    with pytest.raises(ConfigError, match="RELAX_TOTP"):
        Settings(env="production", secret_key="a-long-random-production-key", relax_totp=True).check()
    Settings(env="production", secret_key="a-long-random-production-key").check()


def test_sessions_resolve_expire_and_close(db: Database, other_db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    token, expiring = _open_session(db, settings, "mia"), _open_session(db, settings, "mia")
    with other_db.reader() as session:
        found = staff.resolve_session(session, token)
        assert found is not None and found.user.username == "mia" and found.csrf_token
        assert staff.resolve_session(session, "not-a-token") is None
        assert token not in {s.token_hash for s in session.execute(select(StaffSession)).scalars()}

    with db.session() as session:
        found = staff.resolve_session(session, expiring)
        assert found is not None
        found.expires_at = utcnow() - timedelta(seconds=1)
    with other_db.reader() as session:
        assert staff.resolve_session(session, expiring) is None

    with db.session() as session:
        staff.close_session(session, token)
    with other_db.reader() as session:
        assert staff.resolve_session(session, token) is None
    assert _verbs(db, user)[-1] == "staff.logout"


def test_sessions_of_a_deactivated_user_stop_working(db: Database, settings: Settings) -> None:
    _create(db, settings, "mia")
    token = _open_session(db, settings, "mia")
    with db.session() as session:
        session.execute(update(StaffUser).where(StaffUser.username == "mia").values(active=False))
    with db.reader() as session:
        assert staff.resolve_session(session, token) is None
    assert _login(db, settings, "mia") is LoginOutcome.BAD_CREDENTIALS


def test_rate_limit_is_counted_across_processes(db: Database, other_db: Database) -> None:
    # A window far longer than the test, so the count cannot roll over while it runs.
    window = 10**9
    allowed = []
    for database in (db, other_db, db, other_db):
        with database.session() as session:
            allowed.append(rate_limits.hit(session, "login:203.0.113.7", limit=3, window_seconds=window))
    assert allowed == [True, True, True, False]
    with db.session() as session:
        assert rate_limits.hit(session, "login:203.0.113.8", limit=3, window_seconds=window)
