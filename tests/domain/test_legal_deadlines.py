"""Legal deadlines are calendar arithmetic: months, business days, extensions, fixed clocks."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from trustdesk.domain.errors import FieldError
from trustdesk.domain.legal_deadlines import (
    Instrument,
    Regime,
    add_business_days,
    appeal_closes,
    add_months,
    end_of,
    instrument_due,
    privacy_due,
    privacy_extended,
)


def test_a_month_is_a_calendar_month_and_an_extension_lengthens_the_date() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 2) == date(2027, 2, 15)
    assert privacy_due(Regime.GDPR, date(2027, 1, 31)) == date(2027, 2, 28)
    assert privacy_extended(Regime.GDPR, date(2027, 1, 31)) == date(2027, 4, 30)  # three months from receipt, not two from 28 February
    assert privacy_extended(Regime.GDPR, date(2026, 12, 15)) == date(2027, 3, 15)
    assert privacy_extended(Regime.UK_GDPR, date(2027, 1, 31), paused_days=6) == date(2027, 5, 6)
    assert privacy_due(Regime.UK_GDPR, date(2027, 3, 10), paused_days=6) == date(2027, 4, 16)


def test_each_regime_counts_its_own_way() -> None:
    received = date(2026, 12, 4)  # a Friday
    assert privacy_due(Regime.CCPA, received) == date(2027, 1, 18)
    assert privacy_extended(Regime.CCPA, received) == date(2027, 3, 4)
    assert add_business_days(received, 1) == date(2026, 12, 7)  # the Monday
    assert privacy_due(Regime.CCPA_OPT_OUT, received) == date(2026, 12, 25)
    assert privacy_due(Regime.LGPD, received) == date(2026, 12, 19)
    assert privacy_due(Regime.QUEBEC, received) == date(2027, 1, 3)
    for regime, field in ((Regime.LGPD, "extension"), (Regime.QUEBEC, "extension")):
        with pytest.raises(FieldError) as refused:
            privacy_extended(regime, received)
        assert refused.value.field == field
    with pytest.raises(FieldError) as refused:
        privacy_due(Regime.GDPR, received, paused_days=3)  # only UK GDPR pauses the clock
    assert refused.value.field == "paused_days"


def test_instruments_have_fixed_clocks_or_the_date_they_state() -> None:
    received = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)
    assert instrument_due(Instrument.TERRORIST_CONTENT_ORDER, received) == datetime(2026, 12, 6, 10, 30, tzinfo=timezone.utc)
    assert instrument_due(Instrument.TAKE_IT_DOWN, received) == datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc)
    assert instrument_due(Instrument.PRESERVATION, received) == end_of(date(2027, 3, 6))
    stated = datetime(2027, 1, 15, 17, 0, tzinfo=timezone.utc)
    assert instrument_due(Instrument.SUBPOENA, received, stated) == stated
    with pytest.raises(FieldError) as refused:
        instrument_due(Instrument.COURT_ORDER, received)
    assert refused.value.field == "due_at"


def test_the_appeal_window_is_never_shorter_than_six_calendar_months() -> None:
    days = timedelta(days=183)
    july = datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)
    assert appeal_closes(july, days) == datetime(2027, 1, 1, 10, 0, tzinfo=timezone.utc)  # 184 days: six months is longer
    december = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)
    assert appeal_closes(december, days) == december + days  # 183 days outlast six months (182 days) here
    assert appeal_closes(july, timedelta(days=365)) == july + timedelta(days=365)
