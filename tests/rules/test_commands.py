"""`trustdesk rules`: sync a directory, list, change a mode, backtest; bad files refused with status 2."""

from __future__ import annotations

from pathlib import Path


from tests.command_line import run_command
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade






def test_sync_list_mode_and_backtest(cli_env: Settings, db: Database, tmp_path: Path) -> None:
    upgrade(cli_env.effective_database_url)
    (tmp_path / "big_reach.toml").write_text('name = "big_reach"\nmode = "shadow"\nexpression = "history.reports_7d > 10"\n')
    assert "created: big_reach changed: - unchanged: - disabled: -" in run_command("rules", "sync", str(tmp_path))
    assert "big_reach 1 shadow file none history.reports_7d > 10" in run_command("rules", "list")
    assert "big_reach is live (version 2)" in run_command("rules", "mode", "big_reach", "live")
    out = run_command("rules", "backtest", "big_reach", "--since", "7d")
    assert "big_reach, version 2: 0 events replayed" in out and "would match 0; the live rule matched 0" in out
    (tmp_path / "big_reach.toml").write_text('name = "big_reach"\nexpression = "history.reports_7d > \'ten\'"\n')
    assert "big_reach.toml" in run_command("rules", "sync", str(tmp_path), code=2)
    assert "a period such as 30d" in run_command("rules", "backtest", "big_reach", "--since", "last week", code=2)
    assert "no rule named 'nope'" in run_command("rules", "backtest", "nope", code=2)
