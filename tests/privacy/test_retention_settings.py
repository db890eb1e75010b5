"""`TRUSTDESK_RETENTION_DAYS` changes the retention of the kinds it names; a kind it does not
know or a period under a day is refused when the settings are checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trustdesk.config import ConfigError, load_settings


def test_named_kinds_change_and_the_rest_keep_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_RETENTION_DAYS", "content=365, evidence=7")
    settings = load_settings()
    settings.check()
    assert [settings.retention(k) for k in ("content", "network", "evidence")] == [timedelta(days=365), timedelta(days=365), timedelta(days=7)]


@pytest.mark.parametrize(("value", "message"), [
    ("contents=30", "TRUSTDESK_RETENTION_DAYS: 'contents' is none of content, network, evidence"),
    ("network=0", "TRUSTDESK_RETENTION_DAYS: network must be kept at least 1 day"),
])
def test_a_bad_schedule_is_refused(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv("TRUSTDESK_RETENTION_DAYS", value)
    with pytest.raises(ConfigError) as refused:
        load_settings().check()
    assert str(refused.value) == message


def test_a_period_that_is_no_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_RETENTION_DAYS", "content=long")
    with pytest.raises(ConfigError, match="a numeric TRUSTDESK_ setting is not a number"):
        load_settings()
