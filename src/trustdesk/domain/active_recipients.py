"""Average monthly active recipients (DSA Art. 24(2)): what the host platform reports per month,
checked, and how a period's months and their average are worked out. No I/O.

The host platform counts its active recipients (it knows who used the service; TrustDesk does
not), one figure per calendar month, optionally broken down by EU member state. A report's
average is taken over the months of its period that have a figure; the others are named as
missing, never counted as zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from trustdesk.domain.errors import FieldError

# The 27 member states by ISO 3166-1 alpha-2 (Greece is GR here; the EU's own "EL" is accepted as it).
MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL",
    "PT", "RO", "SK", "SI", "ES", "SE",
})
ALIASES = {"EL": "GR"}
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")  # ASCII digits: `\d` also takes "٢٠٢٦"


def month_of(text: str, today: date) -> date:
    """The first day of the month written YYYY-MM, which must have begun by `today`."""
    found = _MONTH.match(text)
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
        raise FieldError("month", "a month written YYYY-MM, such as 2026-11")
    month = date(int(found.group(1)), int(found.group(2)), 1)
    if month > today:
        raise FieldError("month", "a month that has begun: no figures for the future")
    return month


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


@dataclass(frozen=True)
class MonthlyFigure:
    """One month's active recipients in the Union, with any breakdown by member state."""

    count: int
    by_member_state: Mapping[str, int]

    def checked(self) -> MonthlyFigure:
        if self.count < 0:
            raise FieldError("count", "may not be negative")
        states: dict[str, int] = {}
        for code, value in self.by_member_state.items():
            state = ALIASES.get(code.upper(), code.upper())
            if state not in MEMBER_STATES:
                raise FieldError(f"by_member_state.{code}", "not an EU member state's ISO 3166-1 code (such as DE, FR, GR)")
            if state in states:
                raise FieldError(f"by_member_state.{code}", f"{state} is given twice")
            if value < 0:
                raise FieldError(f"by_member_state.{code}", "may not be negative")
            if value > self.count:
                raise FieldError(f"by_member_state.{code}", "more recipients in one member state than in the Union")
            states[state] = value
        return MonthlyFigure(self.count, dict(sorted(states.items())))


def months_between(since: date, until: date) -> list[date]:
    """The calendar months the days `since` to `until` touch, each as its first day."""
    months, year, month = [], since.year, since.month
    while (year, month) <= (until.year, until.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def average(figures: Sequence[MonthlyFigure]) -> tuple[int | None, dict[str, int]]:
    """The mean count over the months given (None without any), rounded to a whole recipient; and
    each member state's mean over the months that break down by member state."""
    if not figures:
        return None, {}
    broken_down = [f for f in figures if f.by_member_state]
    states = sorted({state for f in broken_down for state in f.by_member_state})
    by_state = {state: round(sum(f.by_member_state.get(state, 0) for f in broken_down) / len(broken_down)) for state in states}
    return round(sum(f.count for f in figures) / len(figures)), by_state
