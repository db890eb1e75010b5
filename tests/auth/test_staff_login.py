"""Staff login through the services: hashing, lockout per username and address with back-off,
a second factor that cannot be replayed, sessions, deactivation, rate limits.

Lockouts, sessions and rate-limit counters must live in the database, so several tests check
them through a second `Database` on the same URL: what another process would see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, rate_limits, staff
from trustdesk.auth.passwords import dummy_hash, verify_password
from trustdesk.auth.staff import LoginOutcome
from trustdesk.config import ConfigError, PasswordHashing, Settings, load_settings
from trustdesk.domain.errors import Conflict
from trustdesk.domain.vocabulary import Role
from trustdesk.store.database import Database
from trustdesk.store.models import AuditEvent, LoginThrottle, StaffSession, StaffUser, utcnow

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


HOME = "198.51.100.10"  # the owner's address
STRANGER = "203.0.113.66"


def _result(db: Database, settings: Settings, username: str, password: str = PASSWORD, code: str | None = None,
            address: str = HOME) -> staff.LoginResult:
    with db.session() as session:
        return staff.authenticate(session, settings, username, password, code, address=address)


def _login(db: Database, settings: Settings, username: str, password: str = PASSWORD, code: str | None = None,
           address: str = HOME) -> LoginOutcome:
    return _result(db, settings, username, password, code, address).outcome


def _throttle(db: Database, username: str, address: str = HOME) -> LoginThrottle | None:
    with db.reader() as session:
        return session.get(LoginThrottle, (username, address))


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


def test_a_login_stores_the_hash_again_at_the_cost_configured_now(db: Database, settings: Settings) -> None:
    """Made at the default cost (the one test here that pays it), verified and stored again at
    the cost the settings give now; a wrong password changes nothing."""
    made_at_default = replace(settings, password_hashing=PasswordHashing())
    _create(db, made_at_default, "mia")
    before = _user(db, "mia").password_hash
    assert "$m=65536,t=3,p=4$" in before
    assert _login(db, settings, "mia", "wrong password!!") is LoginOutcome.BAD_CREDENTIALS
    assert _user(db, "mia").password_hash == before
    assert _login(db, settings, "mia") is LoginOutcome.OK
    after = _user(db, "mia").password_hash
    cost = settings.password_hashing
    assert f"$m={cost.memory_kib},t={cost.time_cost},p={cost.parallelism}$" in after and verify_password(after, PASSWORD)
    assert _login(db, settings, "mia") is LoginOutcome.OK and _user(db, "mia").password_hash == after  # stands now


def test_good_login_is_recorded(db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    assert _login(db, settings, "mia") is LoginOutcome.OK
    assert _user(db, "mia").last_login_at is not None
    assert _verbs(db, user) == ["staff.created", "staff.login"]


def test_unknown_user_is_refused_like_a_wrong_password_after_the_same_work(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _create(db, settings, "mia")
    checked: list[str] = []
    real = staff.verify_password
    monkeypatch.setattr(staff, "verify_password", lambda stored, password: checked.append(stored) or real(stored, password))
    assert _login(db, settings, "nobody") is LoginOutcome.BAD_CREDENTIALS
    assert _login(db, settings, "mia", "wrong password!!") is LoginOutcome.BAD_CREDENTIALS
    assert checked[0] == dummy_hash(settings.password_hashing) and checked[1] == _user(db, "mia").password_hash  # one argon2 verify each
    assert (_throttle(db, "nobody").failures, _throttle(db, "mia").failures) == (1, 1)


def test_wrong_passwords_count_and_a_good_login_clears_the_count(db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    for _ in range(2):
        assert _login(db, settings, "mia", "wrong password!!") is LoginOutcome.BAD_CREDENTIALS
    assert _throttle(db, "mia").failures == 2
    assert _verbs(db, user).count("staff.login_failed") == 2
    assert _login(db, settings, "mia") is LoginOutcome.OK
    assert _throttle(db, "mia") is None


def test_a_lock_covers_one_username_from_one_address_in_every_process(db: Database, other_db: Database, settings: Settings) -> None:
    """A stranger who knows the admin's username locks only themselves out, not the admin."""
    user = _create(db, settings, "root")
    results = [_result(db, settings, "root", "wrong password!!", address=STRANGER) for _ in range(settings.login_max_failures)]
    assert [r.outcome for r in results] == [LoginOutcome.BAD_CREDENTIALS] * (settings.login_max_failures - 1) + [LoginOutcome.LOCKED]
    assert results[-1].retry_after == settings.login_lockout_seconds

    assert _login(db, settings, "root", address=STRANGER) is LoginOutcome.LOCKED  # even the right password
    assert _login(other_db, settings, "root", address=STRANGER) is LoginOutcome.LOCKED
    assert _login(other_db, settings, "root", address=HOME) is LoginOutcome.OK  # the owner, from their address

    verbs = _verbs(db, user)
    assert verbs.count("staff.login_failed") == settings.login_max_failures
    assert verbs.count("staff.login_refused_locked") == 2
    with db.reader() as session:
        last_failure = session.execute(
            select(AuditEvent).where(AuditEvent.verb == "staff.login_failed").order_by(AuditEvent.id.desc())
        ).scalars().first()
    assert last_failure is not None and last_failure.after == {
        "failures": settings.login_max_failures, "reason": "bad_credentials", "address": STRANGER,
        "locked_seconds": settings.login_lockout_seconds,
    }


def test_an_unknown_username_locks_exactly_like_a_real_one(db: Database, settings: Settings) -> None:
    _create(db, settings, "root")
    for username in ("root", "no-such-user"):
        results = [_result(db, settings, username, "wrong password!!", address=STRANGER) for _ in range(settings.login_max_failures + 1)]
        assert [(r.outcome, r.retry_after) for r in results[-2:]] == [(LoginOutcome.LOCKED, settings.login_lockout_seconds)] * 2


def _expire_lock(db: Database, username: str, address: str = STRANGER) -> None:
    with db.session() as session:
        session.execute(update(LoginThrottle).where(LoginThrottle.username == username, LoginThrottle.address == address)
                        .values(locked_until=utcnow() - timedelta(seconds=1)))


def test_each_failure_after_a_lock_doubles_the_wait_up_to_a_day(db: Database, settings: Settings) -> None:
    _create(db, settings, "root")
    for _ in range(settings.login_max_failures):
        _login(db, settings, "root", "wrong password!!", address=STRANGER)
    waits = []
    for _ in range(3):
        _expire_lock(db, "root")
        waits.append(_result(db, settings, "root", "wrong password!!", address=STRANGER).retry_after)
    base = settings.login_lockout_seconds
    assert waits == [2 * base, 4 * base, 8 * base]
    with db.session() as session:
        session.execute(update(LoginThrottle).values(failures=60, locked_until=None))
    assert _result(db, settings, "root", "wrong password!!", address=STRANGER).retry_after == 24 * 3600

    _expire_lock(db, "root")
    assert _login(db, settings, "root", address=STRANGER) is LoginOutcome.OK  # the right password after the wait
    assert _throttle(db, "root", STRANGER) is None


def test_failures_are_forgotten_after_a_quiet_day(db: Database, settings: Settings) -> None:
    _create(db, settings, "mia")
    for _ in range(settings.login_max_failures - 1):
        _login(db, settings, "mia", "wrong password!!")
    with db.session() as session:
        session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(days=2)))
    assert _login(db, settings, "mia", "wrong password!!") is LoginOutcome.BAD_CREDENTIALS
    assert _throttle(db, "mia").failures == 1


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEGAL, Role.CHILD_SAFETY])
def test_sensitive_roles_need_the_second_factor(db: Database, settings: Settings, role: Role) -> None:
    secret = _create(db, settings, "ada", role).totp_secret
    assert secret is not None
    assert _login(db, settings, "ada") is LoginOutcome.NEED_TOTP
    assert _login(db, settings, "ada", code=_wrong_code(secret)) is LoginOutcome.BAD_TOTP
    assert _throttle(db, "ada").failures == 1
    assert _login(db, settings, "ada", "wrong password!!", pyotp.TOTP(secret).now()) is LoginOutcome.BAD_CREDENTIALS
    assert _login(db, settings, "ada", code=pyotp.TOTP(secret).now()) is LoginOutcome.OK


def test_a_totp_code_is_accepted_once_and_never_an_older_one(db: Database, settings: Settings) -> None:
    secret = _create(db, settings, "ada", Role.ADMIN).totp_secret
    assert secret is not None
    totp = pyotp.TOTP(secret)
    now = time.time()
    code = totp.at(now)
    assert _login(db, settings, "ada", code=code) is LoginOutcome.OK
    assert _login(db, settings, "ada", code=code) is LoginOutcome.BAD_TOTP  # replayed within its window
    previous = totp.at(now - totp.interval)
    assert previous != code and _login(db, settings, "ada", code=previous) is LoginOutcome.BAD_TOTP
    assert _user(db, "ada").totp_last_step == int(now) // totp.interval
    next_code = totp.at(now + totp.interval)  # the authenticator a little ahead: still one use
    assert _login(db, settings, "ada", code=next_code) is LoginOutcome.OK
    assert _login(db, settings, "ada", code=next_code) is LoginOutcome.BAD_TOTP


def test_two_logins_racing_with_one_totp_code_let_exactly_one_in(db: Database, settings: Settings) -> None:
    if db.is_sqlite:
        pytest.skip("concurrency proof runs on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE")
    secret = _create(db, settings, "ada", Role.ADMIN).totp_secret
    assert secret is not None
    code, threads_n = pyotp.TOTP(secret).now(), 8
    start = threading.Barrier(threads_n)
    outcomes: list[LoginOutcome] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        try:
            start.wait()
            outcomes.append(_login(db, settings, "ada", code=code, address=f"192.0.2.{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=attempt, args=(i,)) for i in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors, errors
    assert sorted(outcomes) == sorted([LoginOutcome.OK] + [LoginOutcome.BAD_TOTP] * (threads_n - 1))


def test_a_taken_username_is_refused_by_name_and_the_first_member_stays(db: Database, settings: Settings) -> None:
    first = _create(db, settings, "mia")
    with pytest.raises(Conflict, match="'mia' is taken") as refused:
        _create(db, settings, "mia", Role.ADMIN)
    assert refused.value.field == "username"
    with db.reader() as session:
        assert session.execute(select(StaffUser.id, StaffUser.roles)).all() == [(first.id, ["moderator"])]


def test_the_same_username_added_at_once_is_created_once_and_refused_by_name(db: Database, settings: Settings) -> None:
    if db.is_sqlite:
        pytest.skip("concurrency proof runs on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE")
    threads_n = 6
    start = threading.Barrier(threads_n)
    created: list[int] = []
    refused: list[Conflict] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            start.wait()
            created.append(_create(db, settings, "mia").id)
        except Conflict as exc:
            refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=attempt) for _ in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors, errors
    assert len(created) == 1 and len(refused) == threads_n - 1
    assert {(exc.field, exc.message) for exc in refused} == {("username", "'mia' is taken")}
    assert _verbs(db, _user(db, "mia")) == ["staff.created"]


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


@pytest.mark.parametrize(("env", "cost", "refused"), [
    ("production", PasswordHashing(time_cost=2, memory_kib=19455, parallelism=1), "MEMORY_KIB"),
    ("production", PasswordHashing(time_cost=1, memory_kib=65536, parallelism=1), "TIME_COST"),
    ("development", PasswordHashing(time_cost=1, memory_kib=15, parallelism=2), "MEMORY_KIB"),
    ("development", PasswordHashing(time_cost=0, memory_kib=8, parallelism=1), "TIME_COST"),
    ("development", PasswordHashing(time_cost=1, memory_kib=8, parallelism=0), "PARALLELISM"),
])
def test_a_password_cost_argon2_or_production_would_refuse_is_named(env: str, cost: PasswordHashing, refused: str) -> None:
    with pytest.raises(ConfigError, match=refused):
        Settings(env=env, secret_key="a-long-random-production-key", password_hashing=cost).check()


def test_owasps_least_cost_is_admitted_in_production_and_the_least_argon2_cost_elsewhere() -> None:
    Settings(env="production", secret_key="a-long-random-production-key",
             password_hashing=PasswordHashing(time_cost=2, memory_kib=19456, parallelism=1)).check()
    Settings(password_hashing=PasswordHashing(time_cost=1, memory_kib=16, parallelism=2)).check()


def test_the_password_cost_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("TIME_COST", "2"), ("MEMORY_KIB", "19456"), ("PARALLELISM", "1")):
        monkeypatch.setenv(f"TRUSTDESK_PASSWORD_{name}", value)
    assert load_settings().password_hashing == PasswordHashing(time_cost=2, memory_kib=19456, parallelism=1)
    monkeypatch.setenv("TRUSTDESK_PASSWORD_MEMORY_KIB", "lots")
    with pytest.raises(ConfigError, match="not a number"):
        load_settings()


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


def test_deactivation_ends_sessions_and_personal_tokens_at_once(db: Database, settings: Settings) -> None:
    user = _create(db, settings, "mia")
    token = _open_session(db, settings, "mia")
    with db.session() as session:
        _client, api_token = api_clients.create_staff_token(session, SETUP, session.get_one(StaffUser, user.id), "script")
        staff.set_active(session, SETUP, session.get_one(StaffUser, user.id), False)
    with db.reader() as session:
        assert staff.resolve_session(session, token) is None
        assert session.execute(select(StaffSession).where(StaffSession.user_id == user.id)).first() is None
        assert api_clients.resolve_token(session, api_token) is None
    assert _login(db, settings, "mia") is LoginOutcome.BAD_CREDENTIALS
    with db.reader() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.verb == "staff.deactivated")).scalar_one()
    assert (event.object_id, event.after) == (str(user.id), {"active": False, "sessions_ended": 1, "tokens_revoked": 1})

    with db.session() as session:
        staff.set_active(session, SETUP, session.get_one(StaffUser, user.id), True)
    assert _login(db, settings, "mia") is LoginOutcome.OK
    with db.reader() as session:
        assert api_clients.resolve_token(session, api_token) is None  # an old token stays revoked
    assert _verbs(db, user)[-2:] == ["staff.reactivated", "staff.login"]


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    Settings(trusted_proxies=("10.0.0.0/8", "192.0.2.7", "::1")).check()
    with pytest.raises(ConfigError, match="TRUSTDESK_TRUSTED_PROXIES"):
        Settings(trusted_proxies=("*",)).check()


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
