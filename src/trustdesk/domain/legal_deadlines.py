"""Legal deadlines: calendar arithmetic per privacy regime and per legal instrument.

A month is a calendar month (31 January + one month is the last day of February), a business
day skips Saturdays and Sundays, and an extension lengthens the date it extends. Deadlines in
hours (a terrorist-content removal order, a TAKE IT DOWN request) are instants; the others are
dates, due by the end of that day in UTC (`end_of`). Cases of these kinds keep the result as
their `legal_due_at`, which their queues, dashboards and breach alerts read instead of the
per-band SLA minutes of report queues. See docs/specs/regulatory.md.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from trustdesk.domain.errors import FieldError


class Regime(StrEnum):
    GDPR = "gdpr"
    UK_GDPR = "uk_gdpr"
    CCPA = "ccpa"
    CCPA_OPT_OUT = "ccpa_opt_out"
    LGPD = "lgpd"
    QUEBEC = "quebec_law_25"


class Instrument(StrEnum):
    PRESERVATION = "preservation_letter"
    SUBPOENA = "subpoena"
    COURT_ORDER = "court_order"
    SEARCH_WARRANT = "search_warrant"
    EMERGENCY = "emergency_disclosure"
    TERRORIST_CONTENT_ORDER = "terrorist_content_removal_order"
    TAKE_IT_DOWN = "take_it_down_request"


@dataclass(frozen=True)
class PrivacyRule:
    """When a regime's answer is due: `months` or `days` (calendar) or `business_days` after
    receipt, and how far one extension reaches (None: none allowed)."""

    citation: str
    months: int = 0
    days: int = 0
    business_days: int = 0
    extension_months: int = 0
    extension_days: int = 0
    pauses_for_identity: bool = False

    @property
    def extendable(self) -> bool:
        return bool(self.extension_months or self.extension_days)


PRIVACY_RULES: dict[Regime, PrivacyRule] = {
    Regime.GDPR: PrivacyRule("GDPR Art. 12(3): one month, extendable by two", months=1, extension_months=2),
    Regime.UK_GDPR: PrivacyRule("UK GDPR Art. 12(3), 12A: one month, paused for identity checks, extendable by two",
                                months=1, extension_months=2, pauses_for_identity=True),
    Regime.CCPA: PrivacyRule("CCPA/CPRA: 45 days, extendable by 45 with notice", days=45, extension_days=45),
    Regime.CCPA_OPT_OUT: PrivacyRule("CCPA opt-out of sale or sharing: 15 business days", business_days=15),
    Regime.LGPD: PrivacyRule("LGPD Art. 19: a full statement within 15 days", days=15),
    Regime.QUEBEC: PrivacyRule("Quebec Law 25 s. 32: 30 days (silence is refusal)", days=30),
}
# CCPA: receipt of a request to know, delete or correct is confirmed within 10 business days.
CCPA_CONFIRM_BUSINESS_DAYS = 10

# Instruments with a fixed clock; the others are due when the instrument itself says (`stated`).
INSTRUMENT_HOURS: dict[Instrument, int] = {
    Instrument.TERRORIST_CONTENT_ORDER: 1,  # Regulation (EU) 2021/784 Art. 3(3)
    Instrument.TAKE_IT_DOWN: 48,  # US TAKE IT DOWN Act (2025)
    Instrument.EMERGENCY: 1,  # a threat to life: answered at once, at top priority
}
PRESERVATION_DAYS = 90  # 18 U.S.C. §2703(f): 90 days, extendable by 90


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day where it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def appeal_closes(decided_at: datetime, window: timedelta) -> datetime:
    """When a decision made at `decided_at` can no longer be appealed: after the configured
    window, but never before six calendar months (DSA Art. 20(1)), which 183 days fall a day short
    of from 1 July, 1 August or 1 March."""
    six_months = datetime.combine(add_months(decided_at.date(), 6), decided_at.timetz())
    return max(decided_at + window, six_months)


def add_business_days(day: date, count: int) -> date:
    """`count` weekdays after `day` (public holidays are not known here, so they count)."""
    found = day
    while count > 0:
        found += timedelta(days=1)
        if found.weekday() < 5:
            count -= 1
    return found


def end_of(day: date) -> datetime:
    """A date deadline as an instant: the last moment of that day, UTC."""
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


def privacy_due(regime: Regime, received: date, *, paused_days: int = 0) -> date:
    """When the answer to a request received on `received` is due (UK GDPR: later by the days
    the clock stood still while identity was checked)."""
    rule = PRIVACY_RULES[regime]
    if paused_days and not rule.pauses_for_identity:
        raise FieldError("paused_days", f"{regime.value}: the clock does not pause")
    if paused_days < 0:
        raise FieldError("paused_days", "cannot be negative")
    if rule.business_days:
        due = add_business_days(received, rule.business_days)
    else:
        due = add_months(received, rule.months) + timedelta(days=rule.days)
    return due + timedelta(days=paused_days)


def privacy_extended(regime: Regime, received: date, *, paused_days: int = 0) -> date:
    """The due date after the regime's one extension, counted from receipt as the whole period
    (GDPR: three months from receipt, so a request received on 31 January is due on 30 April,
    not two months after a February already cut short); refused where the regime has none."""
    rule = PRIVACY_RULES[regime]
    if not rule.extendable:
        raise FieldError("extension", f"{rule.citation}: no extension is allowed")
    whole = add_months(received, rule.months + rule.extension_months)
    return whole + timedelta(days=rule.days + rule.extension_days + paused_days)


def instrument_due(instrument: Instrument, received: datetime, stated: datetime | None = None) -> datetime:
    """When a legal instrument must be answered: a fixed clock where the law sets one, else the
    date the instrument states (a preservation letter: the end of its 90 days)."""
    if instrument in INSTRUMENT_HOURS:
        return received + timedelta(hours=INSTRUMENT_HOURS[instrument])
    if instrument is Instrument.PRESERVATION:
        return end_of(received.date() + timedelta(days=PRESERVATION_DAYS))
    if stated is None:
        raise FieldError("due_at", f"a {instrument.value.replace('_', ' ')} states when it must be answered: give that date")
    return stated
