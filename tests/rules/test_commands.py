"""`trustdesk rules`: sync a directory, list, change a mode, backtest; bad files refused with status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli import app
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TRUSTDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRUSTDESK_SECRET_KEY", settings.secret_key)
    return settings


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join(result.output.translate(str.maketrans("", "", "│┃")).split())


def test_sync_list_mode_and_backtest(env: Settings, db: Database, tmp_path: Path) -> None:
    upgrade(env.effective_database_url)
    (tmp_path / "big_reach.toml").write_text('name = "big_reach"\nmode = "shadow"\nexpression = "history.reports_7d > 10"\n')
    assert "created: big_reach changed: - unchanged: - disabled: -" in _run("rules", "sync", str(tmp_path))
    assert "big_reach 1 shadow file none history.reports_7d > 10" in _run("rules", "list")
    assert "big_reach is live (version 2)" in _run("rules", "mode", "big_reach", "live")
    out = _run("rules", "backtest", "big_reach", "--since", "7d")
    assert "big_reach, version 2: 0 events replayed" in out and "would match 0; the live rule matched 0" in out
    (tmp_path / "big_reach.toml").write_text('name = "big_reach"\nexpression = "history.reports_7d > \'ten\'"\n')
    assert "big_reach.toml" in _run("rules", "sync", str(tmp_path), code=2)
    assert "a period such as 30d" in _run("rules", "backtest", "big_reach", "--since", "last week", code=2)
    assert "no rule named 'nope'" in _run("rules", "backtest", "nope", code=2)
