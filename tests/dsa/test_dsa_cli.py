"""`trustdesk dsa export` and `trustdesk dsa submit` against the test's database and the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.command_line import run_command
from tests.dsa.conftest import TOKEN, Sandbox, decide_posts
from tests.enforcement.conftest import World
from trustdesk.config import Settings
from trustdesk.store.models import StatementOfReasons, utcnow


def _bodies(world: World) -> list[dict[str, object]]:
    with world.db.reader() as s:
        return list(s.execute(select(StatementOfReasons.body).order_by(StatementOfReasons.id)).scalars())


def test_export_writes_the_periods_statements_as_json_lines(world: World, cli_env: Settings, tmp_path: Path) -> None:
    decide_posts(world, 3)
    with world.db.session() as s:  # the first one was stored long ago: outside the period
        first = s.execute(select(StatementOfReasons).order_by(StatementOfReasons.id)).scalars().first()
        s.execute(update(StatementOfReasons).where(StatementOfReasons.id == first.id).values(created_at=utcnow() - timedelta(days=40)))
    out = tmp_path / "statements.jsonl"
    today = utcnow().date()

    output = run_command("dsa", "export", "--since", (today - timedelta(days=7)).isoformat(), "--until", today.isoformat(), "--out", str(out))

    assert f"2 statements of reasons ({today - timedelta(days=7)} to {today}) written to" in output
    assert [json.loads(line) for line in out.read_text().splitlines()] == _bodies(world)[1:]


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "last week"), "since: must be a date written YYYY-MM-DD"),
    (("--since", "2026-02-01", "--until", "2026-01-01"), "until: may not be before since"),
])
def test_export_refuses_a_period_it_cannot_read(cli_env: Settings, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    assert message in run_command("dsa", "export", *args, "--out", str(tmp_path / "x.jsonl"), code=2)


def test_submit_sends_the_pending_statements_and_says_what_happened(
    world: World, cli_env: Settings, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
) -> None:
    decide_posts(world, 2)
    monkeypatch.setenv("TRUSTDESK_DSA_URL", sandbox.url)
    monkeypatch.setenv("TRUSTDESK_DSA_TOKEN", TOKEN)
    assert "2 accepted, 0 already there, 0 refused" in run_command("dsa", "submit")
    assert "0 accepted, 0 already there, 0 refused" in run_command("dsa", "submit")
    assert len(sandbox.accepted()) == 2

    monkeypatch.setenv("TRUSTDESK_DSA_TOKEN", "wrong")
    decide_posts(world, 1, prefix="later")
    assert "the database refused the token (401)" in run_command("dsa", "submit", code=1)


def test_submit_in_production_needs_the_database_configured(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_ENV", "production")
    monkeypatch.setenv("TRUSTDESK_SECRET_KEY", "a-production-secret-key-long-enough")
    for name in vars(cli_env.password_hashing):  # the suite's password cost, set by `cli_env`, is below production's least
        monkeypatch.delenv(f"TRUSTDESK_PASSWORD_{name.upper()}")
    assert "set TRUSTDESK_DSA_URL and TRUSTDESK_DSA_TOKEN" in run_command("dsa", "submit", code=2)
