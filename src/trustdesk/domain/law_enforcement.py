"""Law-enforcement and regulatory requests: what an intake says, the statuses a request moves
through to closure, and legal review's three answers. No I/O.

A request is due by its instrument's clock (`legal_deadlines.instrument_due`): one hour for an
emergency disclosure or an EU terrorist-content removal order, 48 hours for a TAKE IT DOWN
request, 90 days for a preservation letter, else the date the instrument states. Emergency
requests, and every one due within hours, are worked at top priority (band P0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.legal_deadlines import INSTRUMENT_HOURS, Instrument

MAX_TEXT = 200
MAX_REASONS = 2000
MAX_SUBJECTS = 100


class RequestStatus(StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    NARROWED = "narrowed"
    REJECTED = "rejected"
    DISCLOSED = "disclosed"
    CLOSED = "closed"


class ReviewOutcome(StrEnum):
    APPROVE = "approve"  # disclose what was asked
    NARROW = "narrow"  # disclose less: only some of the subjects
    REJECT = "reject"  # disclose nothing (overbroad, defective, wrong jurisdiction …)


REVIEWED = {ReviewOutcome.APPROVE: RequestStatus.APPROVED, ReviewOutcome.NARROW: RequestStatus.NARROWED,
            ReviewOutcome.REJECT: RequestStatus.REJECTED}
# From each status, the ones a request may move to next.
NEXT: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.RECEIVED: frozenset({RequestStatus.IN_REVIEW, RequestStatus.CLOSED}),
    RequestStatus.IN_REVIEW: frozenset({RequestStatus.APPROVED, RequestStatus.NARROWED, RequestStatus.REJECTED, RequestStatus.CLOSED}),
    RequestStatus.APPROVED: frozenset({RequestStatus.DISCLOSED, RequestStatus.CLOSED}),
    RequestStatus.NARROWED: frozenset({RequestStatus.DISCLOSED, RequestStatus.CLOSED}),
    RequestStatus.REJECTED: frozenset({RequestStatus.CLOSED}),
    RequestStatus.DISCLOSED: frozenset({RequestStatus.CLOSED}),
    RequestStatus.CLOSED: frozenset(),
}


def moved(current: str, to: RequestStatus) -> RequestStatus:
    """`to`, if a request in `current` may go there; Conflict otherwise."""
    if to not in NEXT[RequestStatus(current)]:
        raise Conflict("status", f"a request that is {current.replace('_', ' ')} cannot become {to.value.replace('_', ' ')}")
    return to


@dataclass(frozen=True)
class Intake:
    """A request as the agency sent it (`subjects`: the host platform's external ids)."""

    agency: str
    officer_name: str
    officer_email: str
    officer_phone: str
    instrument: str
    reference: str
    subjects: tuple[str, ...]
    received_at: datetime
    stated_due_at: datetime | None = None
    emergency: bool = False
    non_disclosure: bool = False
    non_disclosure_until: date | None = None

    def checked(self, now: datetime) -> Intake:
        try:
            instrument = Instrument(self.instrument)
        except ValueError:
            raise FieldError("instrument", f"one of {', '.join(Instrument)}") from None
        for field in ("agency", "officer_name", "reference"):
            _text(field, getattr(self, field), required=True)
        _text("officer_phone", self.officer_phone)
        email = _text("officer_email", self.officer_email, required=True)
        if "@" not in email.strip("@"):
            raise FieldError("officer_email", "an email address")
        subjects = tuple(dict.fromkeys(s.strip() for s in self.subjects if s.strip()))
        if not subjects:
            raise FieldError("subjects", "name at least one subject")
        if len(subjects) > MAX_SUBJECTS:
            raise FieldError("subjects", f"at most {MAX_SUBJECTS} subjects in one request")
        if self.received_at.tzinfo is None:
            raise FieldError("received_at", "give a time zone")
        if self.received_at > now:
            raise FieldError("received_at", "cannot be in the future")
        if self.stated_due_at is not None and self.stated_due_at.tzinfo is None:
            raise FieldError("due_at", "give a time zone")
        if not self.non_disclosure and self.non_disclosure_until is not None:
            raise FieldError("non_disclosure_until", "only with a non-disclosure order")
        return Intake(self.agency.strip(), self.officer_name.strip(), email, self.officer_phone.strip(), instrument.value,
                      self.reference.strip(), subjects, self.received_at, self.stated_due_at,
                      self.emergency or instrument is Instrument.EMERGENCY, self.non_disclosure, self.non_disclosure_until)

    @property
    def top_priority(self) -> bool:
        """Emergency requests and those due within hours are worked first."""
        return self.emergency or Instrument(self.instrument) in INSTRUMENT_HOURS


def _text(field: str, value: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise FieldError(field, "required")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise FieldError(field, f"at most {MAX_TEXT} characters")
    return value


def review_reasons(outcome: ReviewOutcome, reasons: str) -> str:
    """A narrowing or a rejection says why; an approval may."""
    reasons = reasons.strip()
    if outcome is not ReviewOutcome.APPROVE and not reasons:
        raise FieldError("reasons", f"say why you {outcome.value}")
    if len(reasons) > MAX_REASONS or "\x00" in reasons:
        raise FieldError("reasons", f"at most {MAX_REASONS} characters")
    return reasons


def non_disclosure_stands(until: date | None, today: date) -> bool:
    """An order without an end date stands until lifted; one with a date, through that day."""
    return until is None or today <= until
