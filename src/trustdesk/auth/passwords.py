"""Argon2id password hashing for staff accounts."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trustdesk.domain.errors import FieldError

_hasher = PasswordHasher()
MIN_LENGTH = 12


class WeakPassword(FieldError):
    def __init__(self) -> None:
        super().__init__("password", f"at least {MIN_LENGTH} characters")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword()
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the username is unknown, so a miss costs the same time as a hit.
DUMMY_HASH = _hasher.hash("not-a-real-password-0000")
