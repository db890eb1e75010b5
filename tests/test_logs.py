"""Log lines: readable text by default in development, JSON when asked or in production."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest

from trustdesk.config import load_settings
from trustdesk.logs import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Leave the root logger as the test found it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _log_a_request_and_a_failure() -> None:
    log = logging.getLogger("trustdesk.web")
    log.info("request", extra={"method": "GET", "path": "/queues/{queue_id}", "status": 404, "ms": 3.1})
    log.warning("odd input\nFAKE 00:00:00 ERROR forged line", extra={"detail": 'has "quotes" and spaces'})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("unhandled error", extra={"path": "/x"})


def test_text_lines_are_readable_one_record_a_line(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=False)
    _log_a_request_and_a_failure()
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO    trustdesk\.web: request method=GET path=/queues/\{queue_id\} status=404 ms=3\.1", lines[0])
    # A newline in a message cannot forge a second record; quoted values keep their spaces and quotes readable.
    assert lines[1].endswith('WARNING trustdesk.web: "odd input\\nFAKE 00:00:00 ERROR forged line" detail="has \\"quotes\\" and spaces"')
    assert "ERROR   trustdesk.web: unhandled error path=/x" in lines[2]
    assert lines[3:] and all(line.startswith("    ") for line in lines[3:]) and lines[-1] == "    ValueError: boom"
    assert not any(line.lstrip().startswith("{") for line in lines)


def test_json_lines_carry_the_fields(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    _log_a_request_and_a_failure()
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(entries) == 3
    assert entries[0] | {"time": None} == {"time": None, "level": "info", "logger": "trustdesk.web", "message": "request",
                                           "method": "GET", "path": "/queues/{queue_id}", "status": 404, "ms": 3.1}
    assert entries[0]["time"].endswith("+00:00")
    assert "ValueError: boom" in entries[2]["exception"]


@pytest.mark.parametrize(("env", "log_json", "expected"), [
    ("", None, False),  # a developer's terminal
    ("production", None, True),
    ("", "1", True),
    ("production", "0", False),
])
def test_json_is_the_default_only_in_production(monkeypatch: pytest.MonkeyPatch, env: str, log_json: str | None, expected: bool) -> None:
    for name in ("TRUSTDESK_ENV", "TRUSTDESK_LOG_JSON"):
        monkeypatch.delenv(name, raising=False)
    if env:
        monkeypatch.setenv("TRUSTDESK_ENV", env)
    if log_json is not None:
        monkeypatch.setenv("TRUSTDESK_LOG_JSON", log_json)
    assert load_settings().log_json is expected
