"""Logging: readable lines on a developer's terminal, one JSON object a line for log collectors.

Both keep any `extra=` fields. The text form puts a record on one line (a traceback follows on
indented lines), with the fields as `key=value`; values that could break the line or be misread
(spaces, quotes, newlines from client input) are quoted and escaped, so one line is one record.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= _extras(record)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _quoted(value: Any) -> str:
    """The value as it reads best on one line: bare if plain, else JSON-quoted (escapes included)."""
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2026-12-04 10:00:01 INFO    trustdesk.web: request method=GET path=/queues status=404`."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        message = record.getMessage()
        message = message if message.isprintable() else _quoted(message)
        fields = "".join(f" {key}={_quoted(value)}" for key, value in _extras(record).items())
        line = f"{when} {record.levelname:<7} {record.name}: {message}{fields}"
        if record.exc_info:
            line += "\n" + "\n".join("    " + part for part in self.formatException(record.exc_info).splitlines())
        return line


def configure_logging(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO: with webhook delivery that is a line per event. Failures
    # are logged by the callers, with what they mean.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
