"""Personal identifiers that search compares by exact value, and how each is spelt canonically.

An identifier is looked up through a keyed digest of its canonical form, never in clear, so
two spellings of one value must normalise to the same text: an email is lower-cased, a phone
number keeps its digits (and a leading +), an IP address is written as `ipaddress` writes it.
Opaque identifiers (device id, payment fingerprint, phone hash) are compared as given.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    IP = "ip"
    DEVICE_ID = "device_id"
    PAYMENT_FINGERPRINT = "payment_fingerprint"
    PHONE_HASH = "phone_hash"


# Identifiers that come with an account's events, and the opaque ones among them.
EVENT_KINDS = (IdentifierKind.IP, IdentifierKind.DEVICE_ID, IdentifierKind.PAYMENT_FINGERPRINT, IdentifierKind.PHONE_HASH)
OPAQUE_KINDS = (IdentifierKind.DEVICE_ID, IdentifierKind.PAYMENT_FINGERPRINT, IdentifierKind.PHONE_HASH)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]*$")
_MIN_PHONE_DIGITS = 6
# An opaque identifier is one word of some length with a digit in it (UUIDs, hex digests,
# IMEIs): plain words are searched as text only, and not compared with personal identifiers.
_MIN_OPAQUE = 6


def normalise(kind: IdentifierKind, value: str) -> str | None:
    """The canonical spelling of `value` as an identifier of `kind`; None if it cannot be one."""
    value = value.strip()
    if not value:
        return None
    if kind is IdentifierKind.EMAIL:
        return value.lower() if _EMAIL.match(value) else None
    if kind is IdentifierKind.PHONE:
        if not _PHONE.match(value):
            return None
        digits = re.sub(r"\D", "", value)
        return ("+" if value.startswith("+") else "") + digits if len(digits) >= _MIN_PHONE_DIGITS else None
    if kind is IdentifierKind.IP:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    return value


def kinds_of(query: str) -> list[IdentifierKind]:
    """The identifier kinds a search query could be an exact value of (none for words and phrases)."""
    query = query.strip()
    if not query or (any(c.isspace() for c in query) and normalise(IdentifierKind.PHONE, query) is None):
        return []
    if normalise(IdentifierKind.EMAIL, query):
        return [IdentifierKind.EMAIL]
    if normalise(IdentifierKind.IP, query):
        return [IdentifierKind.IP]
    kinds = [IdentifierKind.PHONE] if normalise(IdentifierKind.PHONE, query) else []
    if not any(c.isspace() for c in query) and len(query) >= _MIN_OPAQUE and any(c.isdigit() for c in query):
        kinds += OPAQUE_KINDS
    return kinds
