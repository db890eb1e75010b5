"""Legal holds: their legal bases and retention clocks, and the hashes that make an evidence set
and its chain of custody checkable by anyone holding the package. No I/O.

A hold's clock is a calendar date, not a number of minutes: an NCMEC report is kept one year
(18 U.S.C. § 2258A(h)), a law-enforcement preservation request 90 days, extended by 90 more
on a renewed request (18 U.S.C. § 2703(f)); a manual hold has no end but a date on which
someone must decide whether it is still needed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import orjson

from trustdesk.domain.errors import FieldError

GENESIS_HASH = "0" * 64
MAX_REASON = 2000
MAX_REFERENCE = 200
MAX_SUBJECTS = 100


class HoldBasis(StrEnum):
    NCMEC_REPORT = "ncmec_report"
    LAW_ENFORCEMENT_PRESERVATION = "law_enforcement_preservation"
    MANUAL = "manual"


class HoldStatus(StrEnum):
    """Whether a hold still stands (nothing it covers is deleted) or was released."""

    STANDING = "standing"
    RELEASED = "released"


class EvidenceKind(StrEnum):
    SUBJECT = "subject"
    MEDIA = "media"
    REPORT = "report"
    DECISION = "decision"
    ACCOUNT_EVENT = "account_event"


class CustodyVerb(StrEnum):
    PLACE = "place"
    READ = "read"
    EXPORT = "export"
    EXPORT_FAILED = "export_failed"  # the package of an export on the log could not be written
    TRANSFER = "transfer"
    EXTEND = "extend"
    RELEASE = "release"


PRESERVATION_DAYS = 90


@dataclass(frozen=True)
class HoldSpec:
    """What a hold is placed with, as the caller gave it."""

    basis: str
    reason: str
    reference: str = ""
    review_on: date | None = None

    def checked(self, today: date) -> HoldSpec:
        if self.basis not in set(HoldBasis):
            raise FieldError("basis", f"one of {', '.join(HoldBasis)}")
        reason(self.reason)
        if len(self.reference) > MAX_REFERENCE:
            raise FieldError("reference", f"at most {MAX_REFERENCE} characters")
        if self.basis == HoldBasis.MANUAL and self.review_on is None:
            raise FieldError("review_on", "a manual hold needs the date on which it is reviewed")
        if self.review_on is not None and self.review_on <= today:
            raise FieldError("review_on", "must be a date after today")
        return HoldSpec(self.basis, self.reason.strip(), self.reference.strip(), self.review_on)


def reason(text: str) -> str:
    """Every placing, reading, export and release says why; an empty why is no reason."""
    if not text.strip():
        raise FieldError("reason", "say why")
    if len(text) > MAX_REASON:
        raise FieldError("reason", f"at most {MAX_REASON} characters")
    return text.strip()


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def expiry(basis: str, placed_at: datetime) -> datetime | None:
    """When a hold of this basis placed at that moment runs out (None: never by itself)."""
    if basis == HoldBasis.NCMEC_REPORT:
        return add_years(placed_at, 1)
    if basis == HoldBasis.LAW_ENFORCEMENT_PRESERVATION:
        return placed_at + timedelta(days=PRESERVATION_DAYS)
    return None


def extended(basis: str, expires_at: datetime | None) -> datetime:
    """A preservation request renewed: 90 more days from its current end."""
    if basis != HoldBasis.LAW_ENFORCEMENT_PRESERVATION or expires_at is None:
        raise FieldError("basis", "only a law-enforcement preservation hold is extended; release a manual hold or change its review date")
    return expires_at + timedelta(days=PRESERVATION_DAYS)


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes a record is hashed and exported as: sorted keys, UTC times, no whitespace."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_encode)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def items_digest(items: list[tuple[int, str, str]]) -> str:
    """One hash over the evidence set's (position, kind, sha256) in order; the placing custody
    event carries it, so the chain also proves which items the set held."""
    digest = hashlib.sha256()
    for position, kind, item_hash in items:
        digest.update(f"{position}:{kind}:{item_hash}\n".encode())
    return digest.hexdigest()


def custody_hash(event: dict[str, Any]) -> str:
    """Hash of one custody event, over its content and the previous event's hash.

    `event` is the event as exported (`at` already a canonical UTC string): the package's
    verifier recomputes exactly this from the custody log file.
    """
    body = {key: event[key] for key in ("hold_id", "seq", "actor", "verb", "reason", "detail", "at", "prev_hash")}
    return sha256(canonical_bytes(body))


def custody_problem(events: list[dict[str, Any]], hold_id: int) -> str | None:
    """The first custody event that does not hold in the chain, or None when all do."""
    prev = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        if event.get("hold_id") != hold_id or event.get("seq") != seq:
            return f"custody event {seq} is missing or out of place"
        if event.get("prev_hash") != prev:
            return f"custody event {seq} does not link to event {seq - 1}: previous hash differs"
        if custody_hash(event) != event.get("event_hash"):
            return f"custody event {seq} was altered: its content no longer matches its hash"
        prev = event["event_hash"]
    return None
