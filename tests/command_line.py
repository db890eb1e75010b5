"""Running the `trustdesk` command in tests, against the test's database (fixture `cli_env`)."""

from __future__ import annotations

from typer.testing import CliRunner

from trustdesk.cli import app

runner = CliRunner()


def run_command(*args: str, code: int = 0) -> str:
    """The command's output, its table borders dropped and its spacing made single (whatever the
    terminal's width), after checking it ended with `code`."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join(result.output.translate(str.maketrans("", "", "│┃")).split())
