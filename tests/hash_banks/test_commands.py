"""`trustdesk hashes`: create a bank, import a list (twice), list the banks, remove a hash."""

from __future__ import annotations

from pathlib import Path


from tests.command_line import run_command
from trustdesk.config import Settings
from trustdesk.store.database import Database

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"





def test_import_reports_bad_lines_keeps_good_ones_and_is_idempotent(cli_env: Settings, db: Database, tmp_path: Path) -> None:
    assert "created" in run_command("hashes", "create", "scams", "--kind", "scam", "--policy", "SCAM", "--action", "remove")
    assert "action" in run_command("hashes", "create", "half", "--kind", "scam", "--policy", "SCAM", code=2)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{MD5}\n{SHA}\nnope\n")
    out = run_command("hashes", "import", "scams", str(listing), code=1)
    assert "1 hashes added to scams, 0 already there, 2 bad lines" in out
    assert "line 2: 64 hex characters could be sha256 or pdq" in out and "line 3: not a hex hash" in out
    assert "1 hashes added" in run_command("hashes", "import", "scams", str(listing), "--algorithm", "sha256", code=1)
    assert "0 hashes added to scams, 1 already there, 2 bad lines" in run_command("hashes", "import", "scams", str(listing), "--algorithm", "md5", code=1)
    assert "no hash bank 'other'" in run_command("hashes", "import", "other", str(listing), code=2)
    banks = run_command("hashes", "banks")
    assert "scams scam yes 0 1 1 31 remove (SCAM)" in banks
    assert "removed from scams" in run_command("hashes", "remove", "scams", MD5)
    assert "scams scam yes 0 0 1 31" in run_command("hashes", "banks")
    assert "not in bank" in run_command("hashes", "remove", "scams", MD5, code=2)
    assert "updated" in run_command("hashes", "update", "scams", "--threshold", "20", "--inactive")
    assert "scams scam no 0 0 1 20 remove (SCAM)" in run_command("hashes", "banks")
    assert "updated" in run_command("hashes", "update", "scams", "--review-only", "--active")
    assert "scams scam yes 0 0 1 20 review only" in run_command("hashes", "banks")
    assert "pdq_threshold" in run_command("hashes", "update", "scams", "--threshold", "99", code=2)


def test_a_line_past_the_csv_field_limit_is_a_bad_line_and_the_good_ones_are_imported(
    cli_env: Settings, db: Database, tmp_path: Path
) -> None:
    assert "created" in run_command("hashes", "create", "scams", "--kind", "scam")
    listing = tmp_path / "list.csv"
    listing.write_text(f"md5,{MD5}\nsha256,{SHA},{'x' * 140_000}\nsha256,{SHA}\n")
    out = run_command("hashes", "import", "scams", str(listing), code=1)
    assert "2 hashes added to scams, 0 already there, 1 bad lines" in out
    assert "line 2: not a CSV line: field larger than field limit (131072)" in out
