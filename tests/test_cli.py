"""The `trustdesk` command end to end: upgrade, users (and deactivation), clients (and revocation), policies, audit verify."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.command_line import runner
from trustdesk.auth import api_clients, staff
from trustdesk import cli
from trustdesk.cli import app
from trustdesk.demo.seed import seed_demo
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.models import ApiClient, App, AuditEvent, Policy, Signal, StaffUser, Subject





def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_setup_commands_and_audit_verify_detects_tampering(cli_env: Settings, db: Database) -> None:
    upgraded = " ".join(_ok("db", "upgrade").split())  # as said, whatever the terminal's width
    assert "catalogue policies, 14 starter queues and 4 reply templates added" in upgraded
    assert "0 reply templates added" in " ".join(_ok("db", "upgrade").split())  # seeded once: edits are never overwritten
    out = _ok("users", "create", "alice", "--role", "moderator", "--role", "senior", "--language", "es")
    assert "password:" in out
    assert "TOTP enrolment" in _ok("users", "create", "root", "--role", "admin", "--password", "a-long-admin-password")
    token_line = _ok("clients", "create", "backend", "--app", "dating")
    assert "td_" in token_line
    assert "HARASSMENT" in _ok("policies", "list")
    with db.reader() as s:
        alice = s.execute(select(StaffUser).where(StaffUser.username == "alice")).scalar_one()
        assert alice.roles == ["moderator", "senior"] and alice.skills == {"languages": ["es"]}
        assert alice.totp_secret is None
        assert s.execute(select(StaffUser.totp_secret).where(StaffUser.username == "root")).scalar_one()
        assert s.execute(select(ApiClient.name)).scalar_one() == "backend"
        assert s.execute(select(Policy).where(Policy.code == "CSAM")).scalar_one().ncmec_incident_type
    assert "audit chain intact" in _ok("audit", "verify")

    with db.session() as s:
        victim = s.execute(select(AuditEvent).where(AuditEvent.verb == "staff.created")).scalars().first()
        s.execute(text("UPDATE audit_events SET object_id = '999' WHERE id = :id"), {"id": victim.id})
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {victim.id}" in result.output and "altered" in result.output


def test_duplicate_user_and_bad_role_are_refused(cli_env: Settings) -> None:
    _ok("users", "create", "bob", "--role", "qa")
    dup = runner.invoke(app, ["users", "create", "bob", "--role", "qa"])
    assert dup.exit_code == 2 and "taken" in dup.output
    bad = runner.invoke(app, ["users", "create", "carol", "--role", "overlord"])
    assert bad.exit_code != 0


def test_production_refuses_the_demo_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_ENV", "production")
    monkeypatch.delenv("TRUSTDESK_SECRET_KEY", raising=False)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 2 and "TRUSTDESK_SECRET_KEY" in result.output


def test_import_reports_rejects_and_is_idempotent(cli_env: Settings, tmp_path: Path) -> None:
    _ok("db", "upgrade")
    data = tmp_path / "data.jsonl"
    data.write_text(
        '{"type": "subject", "external_id": "a1", "kind": "account", "country": "DE"}\n'
        '{"type": "subject", "external_id": "a2", "kind": "account", "country": "germany"}\n'
        '{"type": "report", "external_id": "r1", "subject_external_id": "a1", "policy_code": "SPAM", "reporter_type": "anonymous"}\n'
    )
    first = runner.invoke(app, ["import", str(data), "--app", "dating"])
    assert first.exit_code == 1 and "rejected lines are in" in first.output
    rejects = (tmp_path / "data.jsonl.rejects.jsonl").read_text()
    assert '"line": 2' in rejects and "country" in rejects
    again = runner.invoke(app, ["import", str(data), "--app", "dating", "--no-resume"])
    assert again.exit_code == 1
    total_row = [line for line in again.output.splitlines() if "total" in line][0]
    assert [cell.strip() for cell in total_row.split("│")][1:5] == ["total", "0", "2", "1"]


def test_demo_prints_logins_and_tokens_and_is_idempotent(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The data set at 5 % size, as `tests/demo` checks it: this is about the command.
    monkeypatch.setattr(cli, "seed_demo", functools.partial(seed_demo, scale=0.05))
    _ok("db", "upgrade")
    first = _ok("demo")
    assert "staff logins" in first and "demo-moderator-pass" in first and "td_" in first
    again = _ok("demo")
    assert "already there" in again and "td_" not in again
    assert "audit chain intact" in _ok("audit", "verify")


def test_users_deactivate_ends_sessions_and_tokens_and_clients_revoke_stops_a_token(cli_env: Settings, db: Database) -> None:
    _ok("db", "upgrade")
    _ok("users", "create", "alice", "--role", "moderator", "--password", "a-long-enough-password")
    personal = _ok("users", "token", "alice").rsplit(" ", 1)[-1].strip()
    host = _ok("clients", "create", "backend", "--app", "dating").rsplit(" ", 1)[-1].strip()
    _ok("clients", "create", "backend", "--app", "market")
    with db.session() as s:
        alice = s.execute(select(StaffUser).where(StaffUser.username == "alice")).scalar_one()
        session_token = staff.open_session(s, cli_env, alice)

    assert "alice is deactivated" in _ok("users", "deactivate", "alice")
    with db.reader() as s:
        assert staff.resolve_session(s, session_token) is None
        assert api_clients.resolve_token(s, personal) is None
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.verb == "staff.deactivated")).scalar_one()
    assert "may sign in again" in _ok("users", "reactivate", "alice")
    assert runner.invoke(app, ["users", "deactivate", "nobody"]).exit_code == 2

    ambiguous = runner.invoke(app, ["clients", "revoke", "backend"])  # two clients share the name
    assert ambiguous.exit_code == 2 and "give the token prefix" in ambiguous.output
    listed = _ok("clients", "list")
    prefix = host.split("_")[1]
    assert prefix in listed and "dating" in listed and "alice" in listed
    assert "revoked backend" in _ok("clients", "revoke", f"td_{prefix}")
    with db.reader() as s:
        assert api_clients.resolve_token(s, host) is None
        revoked = s.execute(select(AuditEvent).where(AuditEvent.verb == "api_client.revoked")).scalar_one()
        assert revoked.after == {"name": "backend", "token_prefix": prefix}
    assert runner.invoke(app, ["clients", "revoke", prefix]).exit_code == 2  # already revoked: no live client


def test_serve_leaves_forwarded_headers_to_the_app(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default; the app decides from TRUSTDESK_TRUSTED_PROXIES."""
    seen: dict[str, object] = {}
    monkeypatch.setattr("trustdesk.cli.uvicorn.run", lambda _app, **options: seen.update(options))
    for process_wide in ("tune_garbage_collector", "configure_logging"):  # not in the test process
        monkeypatch.setattr(f"trustdesk.cli.{process_wide}", lambda *_args: None)
    _ok("serve", "--no-worker")
    assert seen["proxy_headers"] is False


def test_worker_polls_as_often_as_told_within_bounds(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr("trustdesk.cli.run_worker", lambda _db, _settings, **options: seen.update(options))
    for process_wide in ("tune_garbage_collector", "configure_logging"):
        monkeypatch.setattr(f"trustdesk.cli.{process_wide}", lambda *_args: None)
    _ok("worker", "--poll-seconds", "0.05")
    assert seen["poll_seconds"] == 0.05
    refused = runner.invoke(app, ["worker", "--poll-seconds", "0"])
    assert refused.exit_code == 2 and "--poll-seconds" in refused.output


def test_analyze_subject_stores_the_signals_once_and_names_an_unknown_subject(cli_env: Settings, db: Database) -> None:
    with db.session() as s:
        app_row = App(slug="dating", name="Dating")
        s.add(app_row)
        s.flush()
        subject = Subject(app_id=app_row.id, external_id="m1", kind="message", text="double your crypto, send bitcoin now",
                          body_hash="h")
        s.add(subject)
        s.flush()
        subject_id = subject.id
    out = " ".join(_ok("analyze", "subject", str(subject_id)).split())
    assert "text_classifier" in out and "spam_scam" in out and "3 new signal(s)" in out
    assert "0 new signal(s)" in " ".join(_ok("analyze", "subject", str(subject_id)).split())
    with db.reader() as s:
        assert len(s.execute(select(Signal)).scalars().all()) == 3
    missing = runner.invoke(app, ["analyze", "subject", str(subject_id + 100)])
    assert missing.exit_code == 1 and f"no subject {subject_id + 100}" in missing.output
