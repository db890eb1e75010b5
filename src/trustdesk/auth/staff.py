"""Staff accounts: roles, password and second-factor login, lockout, console sessions.

Lockout counters and sessions live in the database, so any process can serve any request.
A session cookie carries a random token whose SHA-256 is stored; the session also holds the
CSRF token that every state-changing console request must echo.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.auth.passwords import DUMMY_HASH, hash_password, verify_password
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import Role
from trustdesk.store.models import StaffSession, StaffUser, as_utc, utcnow


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    NEED_TOTP = "need_totp"
    BAD_TOTP = "bad_totp"
    TOTP_NOT_ENROLLED = "totp_not_enrolled"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: StaffUser | None = None


def staff_actor(user: StaffUser) -> Actor:
    return Actor("staff", user.username)


def requires_totp(settings: Settings, roles: Iterable[str]) -> bool:
    return not settings.relax_totp and any(role in settings.totp_required_roles for role in roles)


def create_user(
    session: Session,
    actor: Actor,
    settings: Settings,
    *,
    username: str,
    password: str,
    roles: Iterable[Role],
    display_name: str | None = None,
    skills: dict[str, list[str]] | None = None,
    with_totp: bool | None = None,
) -> StaffUser:
    """Create a staff user; a TOTP secret is made when asked or when a role requires one."""
    role_values = sorted({Role(r).value for r in roles})
    if not role_values:
        raise ValueError("roles: at least one role is needed")
    if session.execute(select(StaffUser.id).where(StaffUser.username == username)).first():
        raise ValueError(f"username: {username!r} is taken")
    totp = with_totp if with_totp is not None else requires_totp(settings, role_values)
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=role_values,
        skills=skills or {},
        totp_secret=pyotp.random_base32() if totp else None,
    )
    session.add(user)
    session.flush()
    record(
        session, actor=actor, verb="staff.created", object_type="staff_user", object_id=user.id,
        after={"username": username, "roles": role_values, "skills": user.skills, "totp": totp},
    )
    return user


def totp_uri(user: StaffUser) -> str | None:
    if not user.totp_secret:
        return None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name="TrustDesk")


def authenticate(session: Session, settings: Settings, username: str, password: str, totp_code: str | None) -> LoginResult:
    """Check a login attempt; failures count toward a lockout shared by every process."""
    user = session.execute(select(StaffUser).where(StaffUser.username == username).with_for_update()).scalar_one_or_none()
    now = utcnow()
    if user is None or not user.active:
        verify_password(DUMMY_HASH, password)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if user.locked_until and as_utc(user.locked_until) > now:
        record(session, actor=Actor("anonymous", username), verb="staff.login_refused_locked", object_type="staff_user", object_id=user.id)
        return LoginResult(LoginOutcome.LOCKED, user)
    if not verify_password(user.password_hash, password):
        return _failed(session, settings, user, LoginOutcome.BAD_CREDENTIALS)
    if user.totp_secret:
        if not totp_code:
            return LoginResult(LoginOutcome.NEED_TOTP, user)
        if not pyotp.TOTP(user.totp_secret).verify(totp_code.strip(), valid_window=1):
            return _failed(session, settings, user, LoginOutcome.BAD_TOTP)
    elif requires_totp(settings, user.roles):
        return LoginResult(LoginOutcome.TOTP_NOT_ENROLLED, user)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(session, actor=staff_actor(user), verb="staff.login", object_type="staff_user", object_id=user.id)
    return LoginResult(LoginOutcome.OK, user)


def _failed(session: Session, settings: Settings, user: StaffUser, outcome: LoginOutcome) -> LoginResult:
    user.failed_logins += 1
    after: dict[str, object] = {"failed_logins": user.failed_logins, "reason": outcome.value}
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(seconds=settings.login_lockout_seconds)
        user.failed_logins = 0
        after["locked_until"] = user.locked_until
    record(session, actor=Actor("anonymous", user.username), verb="staff.login_failed", object_type="staff_user", object_id=user.id, after=after)
    return LoginResult(LoginOutcome.LOCKED if "locked_until" in after else outcome, user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, settings: Settings, user: StaffUser) -> str:
    """Start a console session; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
            expires_at=utcnow() + timedelta(hours=settings.session_hours),
        )
    )
    return token


def resolve_session(session: Session, token: str) -> StaffSession | None:
    found = session.execute(
        select(StaffSession).where(StaffSession.token_hash == _digest(token))
    ).scalar_one_or_none()
    if found is None or as_utc(found.expires_at) <= utcnow() or not found.user.active:
        return None
    return found


def close_session(session: Session, token: str) -> None:
    found = resolve_session(session, token)
    if found is not None:
        record(session, actor=staff_actor(found.user), verb="staff.logout", object_type="staff_user", object_id=found.user_id)
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))
