"""`trustdesk textbanks`: create a bank, import a list (twice), add, list the banks, remove an entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli import app
from trustdesk.config import Settings
from trustdesk.store.database import Database

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


def test_import_reports_bad_lines_keeps_good_ones_and_is_idempotent(env: Settings, db: Database, tmp_path: Path) -> None:
    assert "text bank 1 'links' created" in _run("textbanks", "create", "links", "--kind", "regex", "--language", "pt")
    assert "name: a lower-case letter" in _run("textbanks", "create", "Bad-Name", "--kind", "keyword", code=2)
    assert "no app 'nowhere'" in _run("textbanks", "create", "scams", "--kind", "keyword", "--app", "nowhere", code=2)
    listing = tmp_path / "links.txt"
    listing.write_text("# shorteners\nbit\\.ly/\\w+\n(\\w)\\1\n\nt\\.me/[a-z]+\n")
    out = _run("textbanks", "import", "links", str(listing), code=1)
    assert "2 entries added to links, 0 already there, 1 bad lines" in out
    assert "line 3: RE2 refuses '(\\\\w)\\\\1': invalid escape sequence: \\1" in out
    assert "0 entries added to links, 2 already there, 1 bad lines" in _run("textbanks", "import", "links", str(listing), code=1)
    assert "no text bank 'other'" in _run("textbanks", "import", "other", str(listing), code=2)
    assert "1 entries added to links" in _run("textbanks", "add", "links", "wa\\.me/\\d+", "--note", "seen 1 Dec")
    assert "matches empty text" in _run("textbanks", "add", "links", "x*", code=2)
    assert "links regex every app pt yes 3" in _run("textbanks", "list")
    assert "removed from links" in _run("textbanks", "remove", "links", "bit\\.ly/\\w+")
    assert "is not in text bank 'links'" in _run("textbanks", "remove", "links", "bit\\.ly/\\w+", code=2)
    assert "links regex every app pt yes 2" in _run("textbanks", "list")
