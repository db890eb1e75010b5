"""The CyberTipline settings come from `TRUSTDESK_NCMEC_*` once; reports go to the local
sandbox unless a URL is set, and NCMEC's production service only when it is named; the
sandbox's defaults match them."""

from __future__ import annotations

import re

import pytest

from tests.command_line import run_command
from trustdesk import cli
from trustdesk.config import NCMEC_PRODUCTION_URL, NCMEC_SANDBOX_URL, ConfigError, NcmecSettings, load_settings


def test_by_default_reports_go_to_the_local_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NCMEC_URL", "NCMEC_FILING_HOURS"):
        monkeypatch.delenv(f"TRUSTDESK_{name}", raising=False)
    ncmec = load_settings().ncmec
    assert (ncmec.base_url, ncmec.environment, ncmec.filing_hours) == (NCMEC_SANDBOX_URL, "sandbox", 24)


def test_the_company_contact_and_production_are_configured_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {"URL": NCMEC_PRODUCTION_URL + "/", "USERNAME": "acme", "PASSWORD": "s3cret", "ESP_NAME": "Acme Social",
              "REPORTER_FIRST_NAME": "Dana", "REPORTER_LAST_NAME": "Ortiz", "REPORTER_EMAIL": "dana@acme.example",
              "REPORTER_PHONE": "+1 555 0100", "TERMS_URL": "https://acme.example/terms", "FILING_HOURS": "12"}
    for name, value in values.items():
        monkeypatch.setenv(f"TRUSTDESK_NCMEC_{name}", value)
    assert load_settings().ncmec == NcmecSettings(
        base_url=NCMEC_PRODUCTION_URL, username="acme", password="s3cret", esp_name="Acme Social", reporter_first_name="Dana",
        reporter_last_name="Ortiz", reporter_email="dana@acme.example", reporter_phone="+1 555 0100",
        terms_of_service_url="https://acme.example/terms", filing_hours=12)
    assert load_settings().ncmec.environment == "production"
    assert load_settings().session_info["ncmec_filing_hours"] == 12  # what decisions read to set the filing deadline


@pytest.mark.parametrize(("name", "value", "message"), [
    ("NCMEC_FILING_HOURS", "0", "TRUSTDESK_NCMEC_FILING_HOURS must be between 1 and 168"),
    ("NCMEC_URL", "report.cybertip.org/ispws", "TRUSTDESK_NCMEC_URL must be an http(s) URL"),
])
def test_unusable_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(f"TRUSTDESK_{name}", value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings().check()


def test_the_sandbox_command_serves_with_the_credentials_given(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, int, str, str]] = []
    monkeypatch.setattr(cli, "run_ncmec", lambda *args: started.append(args))
    run_command("sandbox", "ncmec", "--port", "8911", "--username", "acme", "--password", "s3cret")
    run_command("sandbox", "ncmec")
    defaults = NcmecSettings()  # the sandbox takes what TrustDesk sends by default, where it sends it
    assert started == [("127.0.0.1", 8911, "acme", "s3cret"), ("127.0.0.1", 8910, defaults.username, defaults.password)]
    assert defaults.base_url == "http://127.0.0.1:8910/ispws"
