"""`trustdesk hashes`: create a bank, import a list (twice), list the banks, remove a hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli import app
from trustdesk.config import Settings
from trustdesk.store.database import Database

runner = CliRunner()
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


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


def test_import_reports_bad_lines_keeps_good_ones_and_is_idempotent(env: Settings, db: Database, tmp_path: Path) -> None:
    assert "created" in _run("hashes", "create", "scams", "--kind", "scam", "--policy", "SCAM", "--action", "remove")
    assert "action" in _run("hashes", "create", "half", "--kind", "scam", "--policy", "SCAM", code=2)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{MD5}\n{SHA}\nnope\n")
    out = _run("hashes", "import", "scams", str(listing), code=1)
    assert "1 hashes added to scams, 0 already there, 2 bad lines" in out
    assert "line 2: 64 hex characters could be sha256 or pdq" in out and "line 3: not a hex hash" in out
    assert "1 hashes added" in _run("hashes", "import", "scams", str(listing), "--algorithm", "sha256", code=1)
    assert "0 hashes added to scams, 1 already there, 2 bad lines" in _run("hashes", "import", "scams", str(listing), "--algorithm", "md5", code=1)
    assert "no hash bank 'other'" in _run("hashes", "import", "other", str(listing), code=2)
    banks = _run("hashes", "banks")
    assert "scams scam yes 0 1 1 31 remove (SCAM)" in banks
    assert "removed from scams" in _run("hashes", "remove", "scams", MD5)
    assert "scams scam yes 0 0 1 31" in _run("hashes", "banks")
    assert "not in bank" in _run("hashes", "remove", "scams", MD5, code=2)
    assert "updated" in _run("hashes", "update", "scams", "--threshold", "20", "--inactive")
    assert "scams scam no 0 0 1 20 remove (SCAM)" in _run("hashes", "banks")
    assert "updated" in _run("hashes", "update", "scams", "--review-only", "--active")
    assert "scams scam yes 0 0 1 20 review only" in _run("hashes", "banks")
    assert "pdq_threshold" in _run("hashes", "update", "scams", "--threshold", "99", code=2)
