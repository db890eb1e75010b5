"""Staff accounts: roles, password and second-factor login, lockout, console sessions, deactivation.

Lockout counters and sessions live in the database, so any process can serve any request.
A session cookie carries a random token whose SHA-256 is stored; the session also holds the
CSRF token that every state-changing console request must echo. Deactivating a member ends
their sessions and revokes their personal tokens at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.auth import lockouts
from trustdesk.auth.passwords import dummy_hash, hash_password, rehashed, verify_password
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.vocabulary import Role
from trustdesk.store.models import ApiClient, StaffSession, StaffUser, as_utc, utcnow
from trustdesk.store.unique_names import claimed


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
    retry_after: int = 0  # seconds, when LOCKED


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
        raise FieldError("roles", "at least one role is needed")
    totp = with_totp if with_totp is not None else requires_totp(settings, role_values)
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password, settings.password_hashing),
        roles=role_values,
        skills=skills or {},
        totp_secret=pyotp.random_base32() if totp else None,
    )
    with claimed(session, Conflict("username", f"{username!r} is taken")):  # two admins may add the same name at once
        session.add(user)
    record(
        session, actor=actor, verb="staff.created", object_type="staff_user", object_id=user.id,
        after={"username": username, "roles": role_values, "skills": user.skills, "totp": totp},
    )
    return user


def totp_uri(user: StaffUser) -> str | None:
    if not user.totp_secret:
        return None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name="TrustDesk")


def authenticate(
    session: Session, settings: Settings, username: str, password: str, totp_code: str | None, *, address: str,
) -> LoginResult:
    """Check a login attempt from `address`; failures count toward a lock of that username there.

    Unknown and known usernames get the same answers after the same work: a password hash is
    verified either way, and the lock is keyed on the username as typed (see `lockouts`).
    """
    wait = lockouts.locked_for(session, username, address)
    user = session.execute(select(StaffUser).where(StaffUser.username == username).with_for_update()).scalar_one_or_none()
    if wait:
        if user is not None:
            record(session, actor=Actor("anonymous", username), verb="staff.login_refused_locked", object_type="staff_user",
                   object_id=user.id, after={"address": address})
        return LoginResult(LoginOutcome.LOCKED, retry_after=wait)
    user = user if user is not None and user.active else None
    matches = verify_password(user.password_hash if user else dummy_hash(settings.password_hashing), password)
    if user is None or not matches:
        return _failed(session, settings, username, address, user, LoginOutcome.BAD_CREDENTIALS)
    if (new_hash := rehashed(user.password_hash, password, settings.password_hashing)) is not None:
        user.password_hash = new_hash
    if user.totp_secret:
        if not totp_code:
            return LoginResult(LoginOutcome.NEED_TOTP, user)
        if not _accept_totp(session, user, totp_code.strip()):
            return _failed(session, settings, username, address, user, LoginOutcome.BAD_TOTP)
    elif requires_totp(settings, user.roles):
        return LoginResult(LoginOutcome.TOTP_NOT_ENROLLED, user)
    lockouts.clear(session, username, address)
    user.last_login_at = utcnow()
    record(session, actor=staff_actor(user), verb="staff.login", object_type="staff_user", object_id=user.id, after={"address": address})
    return LoginResult(LoginOutcome.OK, user)


def _accept_totp(session: Session, user: StaffUser, code: str) -> bool:
    """A code of the current time step or a neighbour (clock drift), used at most once.

    The accepted step is recorded with a conditional UPDATE, so of two logins racing with
    the same code exactly one moves the step forward and the other is refused (RFC 6238 §5.2).
    """
    totp = pyotp.TOTP(user.totp_secret or "")
    now = int(time.time()) // totp.interval
    step = next((s for s in (now - 1, now, now + 1) if hmac.compare_digest(totp.generate_otp(s), code)), None)
    if step is None:
        return False
    moved = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id, or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def _failed(
    session: Session, settings: Settings, username: str, address: str, user: StaffUser | None, outcome: LoginOutcome,
) -> LoginResult:
    failures, wait = lockouts.count_failure(session, settings, username, address)
    if user is not None:
        after: dict[str, object] = {"failures": failures, "reason": outcome.value, "address": address}
        if wait:
            after["locked_seconds"] = wait
        record(session, actor=Actor("anonymous", username), verb="staff.login_failed", object_type="staff_user",
               object_id=user.id, after=after)
    return LoginResult(LoginOutcome.LOCKED, retry_after=wait) if wait else LoginResult(outcome, user)


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


def set_active(session: Session, actor: Actor, user: StaffUser, active: bool) -> None:
    """Deactivate (ending every session and personal token at once) or reactivate a member.

    A reactivated member signs in again and gets new personal tokens; the old ones stay revoked.
    """
    if user.active == active:
        return
    user.active = active
    after: dict[str, object] = {"active": active}
    if not active:
        ended = session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
        revoked = session.execute(
            update(ApiClient).where(ApiClient.staff_user_id == user.id, ApiClient.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False)
        )
        after |= {"sessions_ended": ended.rowcount, "tokens_revoked": revoked.rowcount}
    record(session, actor=actor, verb="staff.reactivated" if active else "staff.deactivated", object_type="staff_user",
           object_id=user.id, before={"active": not active}, after=after)
