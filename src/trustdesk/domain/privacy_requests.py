"""Privacy requests: what a data subject may ask, and the checks on what intake is given.

A request names its regime (`legal_deadlines.Regime`), which sets when it is due, and its type.
The GDPR family's rights (access, portability, erasure, rectification, restriction, objection)
and the CCPA/CPRA's (know, delete, correct, opt out, limit the use of sensitive data) share one
list: `EXPORTS` are answered with an access export, `ERASURES` through the one deletion path.
A CCPA opt-out runs on its own 15-business-day clock (`Regime.CCPA_OPT_OUT`), so it is filed
under that regime, and the CCPA's own words are for CCPA requests.

What an answer does beyond its words: `CORRECTIONS` keep the person's statement against their
account (GDPR Art. 16 lets incomplete data be completed by a supplementary statement; TrustDesk
holds no master copy of the host platform's data to edit); `RESTRICTIONS` (Art. 18) keep the
data but withhold the person's content from automated analysis and rules until the restriction
is lifted; `OBJECTIONS` (Art. 21, and the CCPA opt-out) withhold it from them for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from trustdesk.domain.errors import FieldError
from trustdesk.domain.legal_deadlines import CCPA_CONFIRM_BUSINESS_DAYS, Regime, add_business_days


class RequestType(StrEnum):
    ACCESS = "access"
    PORTABILITY = "portability"
    ERASURE = "erasure"
    RECTIFICATION = "rectification"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    OPT_OUT = "opt_out"
    KNOW = "know"
    DELETE = "delete"
    CORRECT = "correct"
    LIMIT_SENSITIVE = "limit_sensitive"


EXPORTS = frozenset({RequestType.ACCESS, RequestType.PORTABILITY, RequestType.KNOW})
ERASURES = frozenset({RequestType.ERASURE, RequestType.DELETE})
CCPA_TYPES = frozenset({RequestType.KNOW, RequestType.DELETE, RequestType.CORRECT, RequestType.LIMIT_SENSITIVE})
GDPR_TYPES = frozenset(RequestType) - CCPA_TYPES - {RequestType.OPT_OUT}
CORRECTIONS = frozenset({RequestType.RECTIFICATION, RequestType.CORRECT})
RESTRICTIONS = frozenset({RequestType.RESTRICTION})
OBJECTIONS = frozenset({RequestType.OBJECTION, RequestType.OPT_OUT})
# CCPA regulations §7021(a): receipt of a request to know, delete or correct is confirmed.
RECEIPT_CONFIRMED = frozenset({RequestType.KNOW, RequestType.DELETE, RequestType.CORRECT})
MAX_STATEMENT = 5000
# The rights each regime names; the GDPR's list serves the GDPR-like laws (UK GDPR, LGPD, Law 25).
TYPES_OF = {Regime.CCPA: CCPA_TYPES, Regime.CCPA_OPT_OUT: frozenset({RequestType.OPT_OUT})}


class Verification(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    FAILED = "failed"


class RequestStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    REFUSED = "refused"


MAX_CONTACT = 320
MAX_NAME = 200
MAX_TEXT = 20_000
MAX_PAUSED_DAYS = 366


@dataclass(frozen=True)
class RequestSpec:
    """A privacy request as intake receives it (API body or console form)."""

    subject_external_id: str
    regime: str
    request_type: str
    requester_name: str
    requester_contact: str
    received_on: date
    details: str = ""


@dataclass(frozen=True)
class CheckedRequest:
    subject_external_id: str
    regime: Regime
    request_type: RequestType
    requester_name: str
    requester_contact: str
    received_on: date
    details: str


def check(spec: RequestSpec, today: date) -> CheckedRequest:
    """The request with its words checked; FieldError names what is wrong."""
    try:
        regime = Regime(spec.regime)
    except ValueError:
        raise FieldError("regime", f"one of {', '.join(r.value for r in Regime)}") from None
    try:
        kind = RequestType(spec.request_type)
    except ValueError:
        raise FieldError("request_type", f"one of {', '.join(t.value for t in RequestType)}") from None
    allowed = TYPES_OF.get(regime, GDPR_TYPES)
    if kind not in allowed:
        raise FieldError("request_type", f"under {regime.value}: one of {', '.join(t.value for t in RequestType if t in allowed)}")
    if spec.received_on > today:
        raise FieldError("received_on", "cannot be in the future")
    return CheckedRequest(
        subject_external_id=_text("subject_external_id", spec.subject_external_id, MAX_NAME),
        regime=regime, request_type=kind,
        requester_name=_text("requester_name", spec.requester_name, MAX_NAME),
        requester_contact=_text("requester_contact", spec.requester_contact, MAX_CONTACT),
        received_on=spec.received_on, details=_text("details", spec.details, MAX_TEXT, required=False),
    )


def confirm_by(regime: Regime, kind: RequestType, received: date) -> date | None:
    """When receipt of the request must be confirmed: 10 business days after it arrived for a
    CCPA request to know, delete or correct; None where the law asks no confirmation."""
    if regime is not Regime.CCPA or kind not in RECEIPT_CONFIRMED:
        return None
    return add_business_days(received, CCPA_CONFIRM_BUSINESS_DAYS)


def text(field: str, value: str, limit: int = MAX_TEXT) -> str:
    """A reason, note or answer: 1 to `limit` characters of printable text."""
    return _text(field, value, limit)


def _text(field: str, value: str, limit: int, *, required: bool = True) -> str:
    cleaned = value.strip()
    if (required and not cleaned) or len(cleaned) > limit or "\x00" in cleaned:
        raise FieldError(field, f"{'1' if required else '0'}–{limit} characters")
    return cleaned
