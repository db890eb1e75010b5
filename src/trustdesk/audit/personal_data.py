"""Per-person encryption of personal data inside audit payloads (crypto-shredding).

Each person (an account, or a notifier known only by email) gets a random 256-bit data key,
stored wrapped under a key derived from `TRUSTDESK_SECRET_KEY`. Personal values in audit
payloads are replaced by `{"$enc": <AES-GCM token>}` before the event is hashed, so destroying
the data key later makes them unreadable without touching the hash chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import PersonKey, utcnow

# Field names whose values are personal data wherever they appear in an audit payload.
PERSONAL_FIELDS = frozenset(
    {
        "email", "phone", "display_name", "name", "ip", "device_id", "payment_fingerprint",
        "phone_hash", "text", "notifier_name", "notifier_email", "personal",
    }
)
ERASED = "[erased]"
CACHE_KEY = "person_keys"


def account_ref(subject_id: int) -> str:
    return f"subject:{subject_id}"


def notifier_ref(email: str) -> str:
    return "notifier:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


class KeyRing:
    """Wraps and unwraps data keys with the deployment's key-encryption key."""

    def __init__(self, secret_key: str) -> None:
        self._kek = AESGCM(hashlib.sha256(b"trustdesk-person-kek:" + secret_key.encode()).digest())

    def wrap(self, data_key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._kek.encrypt(nonce, data_key, b"person-key")

    def unwrap(self, wrapped: bytes) -> bytes:
        return self._kek.decrypt(wrapped[:12], wrapped[12:], b"person-key")


_keyring: KeyRing | None = None
_lookup_key: bytes | None = None


def configure(secret_key: str) -> None:
    global _keyring, _lookup_key
    _keyring = KeyRing(secret_key)
    _lookup_key = hashlib.sha256(b"trustdesk-identifier-lookup:" + secret_key.encode()).digest()


def lookup_digest(kind: str, canonical: str) -> str:
    """A keyed digest of one identifier (already in its canonical spelling) for exact lookups.

    Keyed with a key derived from `TRUSTDESK_SECRET_KEY`, so the stored digests cannot be
    matched against a list of guessed emails or phone numbers without the deployment's secret.
    """
    if _lookup_key is None:
        raise RuntimeError("personal_data.configure() was not called")
    return hmac.new(_lookup_key, f"{kind}:{canonical}".encode(), hashlib.sha256).hexdigest()


def _ring() -> KeyRing:
    if _keyring is None:
        raise RuntimeError("personal_data.configure() was not called")
    return _keyring


def _data_key(session: Session, person_ref: str, *, create: bool) -> bytes | None:
    cache: dict[str, bytes | None] = session.info.setdefault(CACHE_KEY, {})
    if person_ref not in cache:
        if create:
            preload(session, {person_ref})
        else:
            wrapped = session.execute(
                select(PersonKey.wrapped_key).where(PersonKey.person_ref == person_ref)
            ).scalar_one_or_none()
            cache[person_ref] = _ring().unwrap(wrapped) if wrapped else None
    return cache[person_ref]


def preload(session: Session, person_refs: set[str]) -> None:
    """Fetch or create many people's keys in two statements (bulk intake)."""
    cache: dict[str, bytes | None] = session.info.setdefault(CACHE_KEY, {})
    wanted = [ref for ref in person_refs if ref not in cache]
    if not wanted:
        return
    rows = session.execute(select(PersonKey.person_ref, PersonKey.wrapped_key).where(PersonKey.person_ref.in_(wanted)))
    for ref, wrapped in rows:
        cache[ref] = _ring().unwrap(wrapped) if wrapped else None
    missing = [ref for ref in wanted if ref not in cache]
    if not missing:
        return
    # A transaction filing for the same new person at the same moment may insert its key first:
    # the one stored is the key, and whoever's insert lost reads it back (that transaction has
    # committed by then; had it rolled back, this insert would have gone in).
    fresh = {ref: AESGCM.generate_key(bit_length=256) for ref in missing}
    now = utcnow()
    stored = set(session.execute(
        conflict_insert(session, PersonKey).values(
            [{"person_ref": ref, "wrapped_key": _ring().wrap(key), "created_at": now} for ref, key in fresh.items()]
        ).on_conflict_do_nothing(index_elements=["person_ref"]).returning(PersonKey.person_ref)
    ).scalars())
    cache.update({ref: key for ref, key in fresh.items() if ref in stored})
    lost = [ref for ref in missing if ref not in stored]
    if lost:
        for ref, wrapped in session.execute(select(PersonKey.person_ref, PersonKey.wrapped_key).where(PersonKey.person_ref.in_(lost))):
            cache[ref] = _ring().unwrap(wrapped) if wrapped else None


def encrypt_fields(session: Session, payload: dict[str, Any] | None, person_ref: str) -> dict[str, Any] | None:
    """Return a copy of `payload` with personal fields encrypted under the person's key."""
    if not payload:
        return payload
    out = dict(payload)
    key: bytes | None = None
    for name, value in payload.items():
        if name not in PERSONAL_FIELDS or value is None:
            continue
        if key is None:
            key = _data_key(session, person_ref, create=True)
            if key is None:  # the person was erased: keep nothing readable about them
                out[name] = ERASED
                continue
        nonce = os.urandom(12)
        plaintext = repr(value).encode() if not isinstance(value, str) else value.encode()
        token = nonce + AESGCM(key).encrypt(nonce, plaintext, person_ref.encode())
        out[name] = {"$enc": base64.b64encode(token).decode()}
    return out


def decrypt_value(session: Session, value: Any, person_ref: str | None) -> Any:
    """The plaintext of one payload value, or `[erased]` once the person's key is destroyed."""
    if not (isinstance(value, dict) and "$enc" in value) or person_ref is None:
        return value
    key = _data_key(session, person_ref, create=False)
    if key is None:
        return ERASED
    token = base64.b64decode(value["$enc"])
    return AESGCM(key).decrypt(token[:12], token[12:], person_ref.encode()).decode()


def destroy_key(session: Session, person_ref: str) -> bool:
    """Crypto-shred one person's audit data. Returns False if there was no key."""
    result = session.execute(
        update(PersonKey)
        .where(PersonKey.person_ref == person_ref, PersonKey.wrapped_key.is_not(None))
        .values(wrapped_key=None, destroyed_at=utcnow())
    )
    session.info.setdefault(CACHE_KEY, {})[person_ref] = None
    return bool(result.rowcount)
