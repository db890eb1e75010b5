"""`trustdesk rules`: sync a directory, list, change a mode, backtest; bad files refused with status 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.command_line import run_command
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import Rule






def test_sync_list_mode_and_backtest(cli_env: Settings, db: Database, tmp_path: Path) -> None:
    upgrade(cli_env.effective_database_url)
    (tmp_path / "big_reach.toml").write_text('name = "big_reach"\nmode = "shadow"\nexpression = "history.reports_7d > 10"\n')
    assert "created: big_reach changed: - unchanged: - disabled: -" in run_command("rules", "sync", str(tmp_path))
    assert "big_reach 1 shadow file none history.reports_7d > 10" in run_command("rules", "list")
    assert "big_reach is live (version 2)" in run_command("rules", "mode", "big_reach", "live")
    # The file is as it was synced: the change made since outside it stands.
    assert "created: - changed: - unchanged: - disabled: - kept: big_reach" in run_command("rules", "sync", str(tmp_path))
    assert "big_reach 2 live cli" in run_command("rules", "list")
    out = run_command("rules", "backtest", "big_reach", "--since", "7d")
    assert "big_reach, version 2: 0 events replayed" in out and "would match 0; the live rule matched 0" in out
    (tmp_path / "big_reach.toml").write_text('name = "big_reach"\nexpression = "history.reports_7d > \'ten\'"\n')
    assert "big_reach.toml" in run_command("rules", "sync", str(tmp_path), code=2)
    assert "a period such as 30d" in run_command("rules", "backtest", "big_reach", "--since", "last week", code=2)
    assert "no rule named 'nope'" in run_command("rules", "backtest", "nope", code=2)
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "big_reach"\nexpression = "true"\ndescription = "café"\n'.encode("latin-1"))
    assert run_command("rules", "backtest", "big_reach", "--file", str(latin), code=2) == "file: latin.toml: not UTF-8 text (at byte offset 57)"


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("latin.toml", lambda path: path.write_bytes('name = "latin"\nexpression = "true"\ndescription = "café"\n'.encode("latin-1")),
         "latin.toml: not UTF-8 text (at byte offset 53)"),
        ("deep.toml", lambda path: path.write_text('name = "deep"\nexpression = "true"\nx = ' + "[" * 5000 + "]" * 5000 + "\n"),
         "deep.toml: not valid TOML: nested too deeply"),
        ("dir.toml", lambda path: path.mkdir(), "dir.toml: cannot be read: Is a directory"),
        ("gone.toml", lambda path: path.symlink_to(path.parent / "nowhere"), "gone.toml: cannot be read: No such file or directory"),
    ],
    ids=["not-utf8", "nested-5000-deep", "directory", "dangling-symlink"],
)
def test_a_file_that_cannot_be_read_refuses_the_sync_by_name_and_syncs_nothing(
    cli_env: Settings, db: Database, tmp_path: Path, name: str, make: Callable[[Path], object], reason: str
) -> None:
    upgrade(cli_env.effective_database_url)
    (tmp_path / "a_good.toml").write_text('name = "a_good"\nexpression = "true"\n')  # sorts, and is read, before the bad one
    make(tmp_path / name)
    assert run_command("rules", "sync", str(tmp_path), code=2) == f"file: {reason}"
    with db.reader() as session:
        assert session.execute(select(Rule.name)).all() == []
