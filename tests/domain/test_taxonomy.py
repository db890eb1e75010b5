"""Where an account lives decides its privacy regime and whether the DSA covers it."""

from __future__ import annotations

import pytest

from trustdesk.domain.taxonomy import in_dsa_scope, privacy_regime


@pytest.mark.parametrize(
    ("country", "region", "regime"),
    [("DE", None, "GDPR"), ("no", None, "GDPR"), ("GB", None, "UK_GDPR"), ("US", "CA", "CCPA"), ("US", "TX", "NONE"),
     ("BR", None, "LGPD"), ("CA", "QC", "QUEBEC_LAW25"), ("CA", "ON", "NONE"), (None, None, "NONE")],
)
def test_privacy_regime(country: str | None, region: str | None, regime: str) -> None:
    assert privacy_regime(country, region) == regime


def test_dsa_scope_is_the_eu_only() -> None:
    assert in_dsa_scope("FR") and in_dsa_scope("pt")
    assert not in_dsa_scope("NO") and not in_dsa_scope("GB") and not in_dsa_scope(None)
