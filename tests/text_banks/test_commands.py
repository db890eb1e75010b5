"""`trustdesk textbanks`: create a bank, import a list (twice), add, list the banks, remove an entry."""

from __future__ import annotations

from pathlib import Path


from tests.command_line import run_command
from trustdesk.config import Settings
from trustdesk.store.database import Database






def test_import_reports_bad_lines_keeps_good_ones_and_is_idempotent(cli_env: Settings, db: Database, tmp_path: Path) -> None:
    assert "text bank 1 'links' created" in run_command("textbanks", "create", "links", "--kind", "regex", "--language", "pt")
    assert "name: a lower-case letter" in run_command("textbanks", "create", "Bad-Name", "--kind", "keyword", code=2)
    assert "no app 'nowhere'" in run_command("textbanks", "create", "scams", "--kind", "keyword", "--app", "nowhere", code=2)
    listing = tmp_path / "links.txt"
    listing.write_text("# shorteners\nbit\\.ly/\\w+\n(\\w)\\1\n\nt\\.me/[a-z]+\n")
    out = run_command("textbanks", "import", "links", str(listing), code=1)
    assert "2 entries added to links, 0 already there, 1 bad lines" in out
    assert "line 3: RE2 refuses '(\\\\w)\\\\1': invalid escape sequence: \\1" in out
    assert "0 entries added to links, 2 already there, 1 bad lines" in run_command("textbanks", "import", "links", str(listing), code=1)
    assert "no text bank 'other'" in run_command("textbanks", "import", "other", str(listing), code=2)
    assert "1 entries added to links" in run_command("textbanks", "add", "links", "wa\\.me/\\d+", "--note", "seen 1 Dec")
    assert "matches empty text" in run_command("textbanks", "add", "links", "x*", code=2)
    assert "links regex every app pt yes 3" in run_command("textbanks", "list")
    assert "removed from links" in run_command("textbanks", "remove", "links", "bit\\.ly/\\w+")
    assert "is not in text bank 'links'" in run_command("textbanks", "remove", "links", "bit\\.ly/\\w+", code=2)
    assert "links regex every app pt yes 2" in run_command("textbanks", "list")
