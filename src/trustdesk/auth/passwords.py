"""Argon2id password hashing for staff accounts, at the cost the settings give
(`config.PasswordHashing`). A stored hash carries the parameters it was made with, so it verifies
whatever the settings say now; `rehashed` gives the one a login stores when they changed."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trustdesk.config import PasswordHashing
from trustdesk.domain.errors import FieldError

MIN_LENGTH = 12


class WeakPassword(FieldError):
    def __init__(self) -> None:
        super().__init__("password", f"at least {MIN_LENGTH} characters")


@cache
def _hasher(cost: PasswordHashing) -> PasswordHasher:
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism)


def hash_password(password: str, cost: PasswordHashing) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword()
    return _hasher(cost).hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher(PasswordHashing()).verify(stored_hash, password)  # the hash's own parameters apply
    except (VerificationError, InvalidHashError):
        return False


def rehashed(stored_hash: str, password: str, cost: PasswordHashing) -> str | None:
    """A new hash of a password just verified, when the stored one was made at another cost
    (the settings changed since); None when it stands."""
    hasher = _hasher(cost)
    return hasher.hash(password) if hasher.check_needs_rehash(stored_hash) else None


@cache
def dummy_hash(cost: PasswordHashing) -> str:
    """Verified against when the username is unknown, so a miss costs the same time as a hit."""
    return _hasher(cost).hash("not-a-real-password-0000")
