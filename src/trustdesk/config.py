"""Settings read from `TRUSTDESK_*` environment variables.

Every setting has a default that is safe for the demo on one machine. Production mode
(`TRUSTDESK_ENV=production`) refuses to start with the demo secret key.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

DEMO_SECRET_KEY = "demo-secret-key-change-me"
PREFIX = "TRUSTDESK_"
# The local DSA sandbox the demo submits to, and the token it is started with by default.
DSA_SANDBOX_URL = "http://127.0.0.1:8901"
DSA_SANDBOX_TOKEN = "dsa-sandbox-token"
# NCMEC's CyberTipline: the local sandbox (`trustdesk sandbox ncmec`) unless a URL is set.
NCMEC_SANDBOX_URL = "http://127.0.0.1:8910/ispws"
NCMEC_PRODUCTION_URL = "https://report.cybertip.org/ispws"
NCMEC_TEST_URL = "https://exttest.cybertip.org/ispws"


# How long the retention purge (`trustdesk.privacy.retention`) keeps each kind of personal data
# (`trustdesk.privacy.personal_data_registry.DataKind`) that no legal hold covers: content since
# it last changed, network identifiers since the event, a released hold's evidence since release.
RETENTION_DEFAULT_DAYS = {"content": 730, "network": 365, "evidence": 30}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which variable to fix."""


def _env(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _env_list(name: str) -> tuple[str, ...]:
    raw = _env(name, "")
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class NcmecSettings:
    """The company's CyberTipline account and reporting contact, configured once
    (`TRUSTDESK_NCMEC_*`). Reports go to the local sandbox unless `base_url` names NCMEC's test
    or production service; production is never a default."""

    base_url: str = NCMEC_SANDBOX_URL
    username: str = "trustdesk"
    password: str = "sandbox"
    esp_name: str = "TrustDesk demo platform"
    reporter_first_name: str = "Trust"
    reporter_last_name: str = "Safety"
    reporter_email: str = "trust-and-safety@localhost"
    reporter_phone: str = ""
    terms_of_service_url: str = ""
    # A report is due this many hours after a reviewer confirms the case (a violation decided).
    filing_hours: int = 24

    @property
    def environment(self) -> str:
        """Where reports go, in words the console shows beside the Submit button."""
        return {NCMEC_PRODUCTION_URL: "production", NCMEC_TEST_URL: "NCMEC test"}.get(self.base_url.rstrip("/"), "sandbox")


@dataclass(frozen=True)
class PasswordHashing:
    """Argon2id's cost for staff passwords (`TRUSTDESK_PASSWORD_*`). The default is RFC 9106's
    second recommended option (64 MiB, 3 passes, 4 lanes): about a quarter of a second a login on
    a small server. A machine short of memory may go down to OWASP's minimum (19 MiB, 2 passes,
    1 lane), below which production refuses to start."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


# OWASP's Password Storage Cheat Sheet: the least Argon2id cost it recommends.
LEAST_PRODUCTION_HASHING = PasswordHashing(time_cost=2, memory_kib=19456, parallelism=1)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = DEMO_SECRET_KEY
    # Hosts (host or host:port) that media URLs may be fetched from; empty means none.
    media_url_allow_list: tuple[str, ...] = ()
    max_body_bytes: int = 8 * 1024 * 1024
    # Reverse proxies (addresses or networks) whose X-Forwarded-For is believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Roles that must log in with a second factor.
    totp_required_roles: tuple[str, ...] = ("admin", "legal", "child-safety")
    # The demo may relax the second-factor requirement; the console says so on every page.
    relax_totp: bool = False
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    password_hashing: PasswordHashing = PasswordHashing()
    session_hours: int = 12
    # A skipped case is not served to the same reviewer again for this long.
    skip_minutes: int = 30
    # The longest one claim may hold a case, however active the reviewer is; then it goes back to the queue.
    max_hold_minutes: int = 60
    # How long after a decision its user or notifier may appeal it (DSA Art. 20: at least six months).
    appeal_window_days: int = 183
    # Where notices sent by mail go out (an app's notice channel `smtp`); no host: not configured.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "trust-and-safety@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # Days each kind of personal data is kept before the retention purge erases it, where it
    # differs from `RETENTION_DEFAULT_DAYS`: (("content", 365), …).
    retention_days: tuple[tuple[str, int], ...] = ()
    log_json: bool = False
    # The DSA Transparency Database's API and its Bearer token; empty: the local sandbox
    # (`trustdesk sandbox dsa`) outside production, nothing submitted in production.
    dsa_url: str = ""
    dsa_token: str = ""
    ncmec: NcmecSettings = NcmecSettings()

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def session_info(self) -> dict[str, Any]:
        """The settings a transaction reads deep inside (`Database(info=…)` puts them in `Session.info`)."""
        return {"appeal_window_days": self.appeal_window_days, "ncmec_filing_hours": self.ncmec.filing_hours}

    def retention(self, kind: str) -> timedelta:
        """How long data of that kind is kept (`kind` one of `RETENTION_DEFAULT_DAYS`)."""
        return timedelta(days=dict(self.retention_days).get(kind, RETENTION_DEFAULT_DAYS[kind]))

    @property
    def dsa_target(self) -> tuple[str, str] | None:
        """Where statements of reasons are submitted (base URL, token), or None in production
        until both are set: no deployment reports to the sandbox by mistake."""
        if self.dsa_url and self.dsa_token:
            return self.dsa_url.rstrip("/"), self.dsa_token
        if self.is_production:
            return None
        return self.dsa_url.rstrip("/") or DSA_SANDBOX_URL, self.dsa_token or DSA_SANDBOX_TOKEN

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'trustdesk.db').resolve()}"

    def check(self) -> None:
        """Refuse configurations that are unsafe outside a demo."""
        if self.is_production and self.secret_key == DEMO_SECRET_KEY:
            raise ConfigError(
                "TRUSTDESK_SECRET_KEY is the demo key; set a long random value for production"
            )
        if self.is_production and self.relax_totp:
            raise ConfigError("TRUSTDESK_RELAX_TOTP cannot be set in production")
        if len(self.secret_key) < 16:
            raise ConfigError("TRUSTDESK_SECRET_KEY must be at least 16 characters")
        self._check_password_hashing()
        if not 1 <= self.skip_minutes <= 7 * 1440:
            raise ConfigError("TRUSTDESK_SKIP_MINUTES must be between 1 and 10080 (a week)")
        if not 5 <= self.max_hold_minutes <= 1440:
            raise ConfigError("TRUSTDESK_MAX_HOLD_MINUTES must be between 5 (one lease) and 1440 (a day)")
        if not 183 <= self.appeal_window_days <= 3660:
            raise ConfigError("TRUSTDESK_APPEAL_WINDOW_DAYS must be between 183 (six months, DSA Art. 20) and 3660 (ten years)")
        if self.dsa_url and not self.dsa_url.startswith(("https://", "http://")):
            raise ConfigError("TRUSTDESK_DSA_URL must be an http(s) URL")
        if not 1 <= self.ncmec.filing_hours <= 24 * 7:
            raise ConfigError("TRUSTDESK_NCMEC_FILING_HOURS must be between 1 and 168 (a week)")
        if not self.ncmec.base_url.startswith(("http://", "https://")):
            raise ConfigError("TRUSTDESK_NCMEC_URL must be an http(s) URL")
        if not 1 <= self.smtp_port <= 65535:
            raise ConfigError("TRUSTDESK_SMTP_PORT must be a port number, 1 to 65535")
        for kind, days in self.retention_days:
            if kind not in RETENTION_DEFAULT_DAYS:
                raise ConfigError(f"TRUSTDESK_RETENTION_DAYS: {kind!r} is none of {', '.join(RETENTION_DEFAULT_DAYS)}")
            if days < 1:
                raise ConfigError(f"TRUSTDESK_RETENTION_DAYS: {kind} must be kept at least 1 day")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigError(f"TRUSTDESK_TRUSTED_PROXIES: {proxy!r} is not an IP address or network") from exc


    def _check_password_hashing(self) -> None:
        cost, least = self.password_hashing, LEAST_PRODUCTION_HASHING
        if cost.time_cost < 1 or cost.parallelism < 1:
            raise ConfigError("TRUSTDESK_PASSWORD_TIME_COST and TRUSTDESK_PASSWORD_PARALLELISM must be at least 1")
        if cost.memory_kib < 8 * cost.parallelism:
            raise ConfigError("TRUSTDESK_PASSWORD_MEMORY_KIB must be at least 8 KiB for each lane of TRUSTDESK_PASSWORD_PARALLELISM")
        if self.is_production and (cost.memory_kib < least.memory_kib or cost.time_cost < least.time_cost):
            raise ConfigError(f"TRUSTDESK_PASSWORD_MEMORY_KIB and TRUSTDESK_PASSWORD_TIME_COST must be at least "
                              f"{least.memory_kib} and {least.time_cost} in production (OWASP's least Argon2id cost)")


def load_settings() -> Settings:
    """Read the environment once; callers pass the result on rather than re-reading it."""
    try:
        max_body = int(_env("MAX_BODY_BYTES", str(8 * 1024 * 1024)))
        failures = int(_env("LOGIN_MAX_FAILURES", "5"))
        lockout = int(_env("LOGIN_LOCKOUT_SECONDS", "900"))
        skip = int(_env("SKIP_MINUTES", "30"))
        max_hold = int(_env("MAX_HOLD_MINUTES", "60"))
        appeal_window = int(_env("APPEAL_WINDOW_DAYS", "183"))
        smtp_port = int(_env("SMTP_PORT", "25"))
        filing_hours = int(_env("NCMEC_FILING_HOURS", "24"))
        default = PasswordHashing()
        hashing = PasswordHashing(
            time_cost=int(_env("PASSWORD_TIME_COST", str(default.time_cost))),
            memory_kib=int(_env("PASSWORD_MEMORY_KIB", str(default.memory_kib))),
            parallelism=int(_env("PASSWORD_PARALLELISM", str(default.parallelism))),
        )
        retention = tuple((kind.strip(), int(days)) for kind, _, days in (part.partition("=") for part in _env_list("RETENTION_DAYS")))
    except ValueError as exc:
        raise ConfigError(f"a numeric TRUSTDESK_ setting is not a number: {exc}") from exc
    env = _env("ENV", "development")
    return Settings(
        env=env,
        data_dir=Path(_env("DATA_DIR", "var")),
        database_url=_env("DATABASE_URL", ""),
        secret_key=_env("SECRET_KEY", DEMO_SECRET_KEY),
        media_url_allow_list=_env_list("MEDIA_URL_ALLOW_LIST"),
        max_body_bytes=max_body,
        trusted_proxies=_env_list("TRUSTED_PROXIES"),
        totp_required_roles=_env_list("TOTP_REQUIRED_ROLES") or ("admin", "legal", "child-safety"),
        relax_totp=_env("RELAX_TOTP", "") in ("1", "true", "yes"),
        login_max_failures=failures,
        login_lockout_seconds=lockout,
        password_hashing=hashing,
        skip_minutes=skip,
        max_hold_minutes=max_hold,
        appeal_window_days=appeal_window,
        smtp_host=_env("SMTP_HOST", ""),
        smtp_port=smtp_port,
        smtp_from=_env("SMTP_FROM", "trust-and-safety@localhost"),
        smtp_username=_env("SMTP_USERNAME", ""),
        smtp_password=_env("SMTP_PASSWORD", ""),
        smtp_starttls=_env("SMTP_STARTTLS", "") in ("1", "true", "yes"),
        dsa_url=_env("DSA_URL", ""),
        dsa_token=_env("DSA_TOKEN", ""),
        retention_days=retention,
        # Readable lines on a developer's terminal; JSON for log collectors in production.
        log_json=_env("LOG_JSON", "1" if env == "production" else "0") in ("1", "true", "yes"),
        ncmec=_ncmec_settings(filing_hours),
    )


def _ncmec_settings(filing_hours: int) -> NcmecSettings:
    default = NcmecSettings()
    return NcmecSettings(
        base_url=_env("NCMEC_URL", default.base_url).rstrip("/"),
        username=_env("NCMEC_USERNAME", default.username),
        password=_env("NCMEC_PASSWORD", default.password),
        esp_name=_env("NCMEC_ESP_NAME", default.esp_name),
        reporter_first_name=_env("NCMEC_REPORTER_FIRST_NAME", default.reporter_first_name),
        reporter_last_name=_env("NCMEC_REPORTER_LAST_NAME", default.reporter_last_name),
        reporter_email=_env("NCMEC_REPORTER_EMAIL", default.reporter_email),
        reporter_phone=_env("NCMEC_REPORTER_PHONE", default.reporter_phone),
        terms_of_service_url=_env("NCMEC_TERMS_URL", default.terms_of_service_url),
        filing_hours=filing_hours,
    )
