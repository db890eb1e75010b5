"""A reporting period: whole UTC days, both ends included, as exports and reports are asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from trustdesk.domain.errors import FieldError


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive bound for queries)."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=timezone.utc)

    @property
    def label(self) -> str:
        return f"{self.since.isoformat()} to {self.until.isoformat()}"


def parse_period(since: str, until: str | None, today: date) -> Period:
    """`since` and `until` as YYYY-MM-DD; without `until`, up to today. Refused when reversed."""
    start = _day("since", since)
    end = _day("until", until) if until else today
    if end < start:
        raise FieldError("until", "may not be before since")
    return Period(start, end)


def _day(field: str, value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, "must be a date written YYYY-MM-DD") from None
    if day == date.max:  # its period would end on a day the calendar does not have
        raise FieldError(field, "must be before 9999-12-31")
    return day
