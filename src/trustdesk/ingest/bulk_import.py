"""Bulk import of subjects, reports and account events from a JSON Lines or CSV file.

For a team moving from spreadsheets or another tool. The file is streamed, never loaded whole:
consecutive records of one type are grouped into chunks of up to 1,000 and each chunk goes
through the intake service in its own transaction, so memory stays flat and a crash never leaves
half a chunk behind. A line that cannot be imported goes to the rejects file with its number and
the reason, and the import goes on. After each committed chunk a checkpoint records how far the
file has been imported, so a re-run after a crash starts there; intake's idempotency makes
re-importing committed records harmless anyway.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import json_problem
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.ingest import intake
from trustdesk.ingest.intake import Submitter
from trustdesk.ingest.schemas import AccountEventIn, Receipt, ReportIn, SubjectIn
from trustdesk.store.database import Database

MAX_CHUNK = 1000
# The tally for lines whose type could not be told (bad JSON, unknown or missing `type`).
UNKNOWN_TYPE = "unknown"
# CSV columns whose cells hold JSON rather than text.
_JSON_COLUMNS = frozenset({"attributes"})
_HEAD_BYTES = 1024 * 1024
_BATCH_FIELD = re.compile(r"^items\[(\d+)\]\.(.+)$")
_NOT_UTF8 = "encoding: the line is not valid UTF-8; save the file as UTF-8"

Progress = Callable[[int, int], None]
# The names of RECORD_TYPES, for callers that want them checked before the import starts.
RecordTypeName = Literal["subject", "report", "account_event"]


@dataclass(frozen=True)
class RecordType:
    """What a record's `type` may name: its intake schema and the service that takes a batch of it."""

    schema: type[BaseModel]
    submit: Callable[[Session, Submitter, Sequence[Any]], list[Receipt]]


RECORD_TYPES: dict[str, RecordType] = {
    "subject": RecordType(SubjectIn, intake.create_subjects),
    "report": RecordType(ReportIn, intake.file_reports),
    "account_event": RecordType(AccountEventIn, intake.record_account_events),
}


class UnreadableFile(ValueError):
    """The file as a whole cannot be imported (unknown format, unusable CSV header)."""


@dataclass
class Tally:
    created: int = 0
    existing: int = 0
    rejected: int = 0


@dataclass
class ImportSummary:
    """Totals for the whole file, including the chunks committed before a resume."""

    rejects_path: Path
    lines: int = 0  # lines of the file read, a CSV header included
    resumed_from_line: int = 0  # 0 when the import started at the top
    by_type: dict[str, Tally] = field(default_factory=dict)

    def tally(self, kind: str) -> Tally:
        return self.by_type.setdefault(kind, Tally())

    def total(self) -> Tally:
        tallies = self.by_type.values()
        return Tally(sum(t.created for t in tallies), sum(t.existing for t in tallies), sum(t.rejected for t in tallies))


@dataclass(frozen=True)
class _Position:
    """How far the file has been read: bytes, to seek back to; lines, to number what follows."""

    offset: int = 0
    line: int = 0


@dataclass(frozen=True)
class _Record:
    """One record as read: its fields, or the reason it could not even be read."""

    line: int
    raw: str
    fields: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(frozen=True)
class _Item:
    line: int
    raw: str
    kind: str
    model: BaseModel


@dataclass(frozen=True)
class _Reject:
    line: int
    raw: str
    kind: str
    reason: str


@dataclass
class _Segment:
    """The lines read since the last checkpoint: valid records of one type, and rejected lines."""

    kind: str | None = None
    items: list[_Item] = field(default_factory=list)
    rejects: list[_Reject] = field(default_factory=list)

    def add(self, outcome: _Item | _Reject) -> None:
        if isinstance(outcome, _Reject):
            self.rejects.append(outcome)
        else:
            self.kind = outcome.kind
            self.items.append(outcome)

    def __len__(self) -> int:
        return len(self.items) + len(self.rejects)


class _Lines:
    """The file's lines as text, with the position reached and the text of the current record.

    Reading bytes and decoding line by line is what lets the position be a byte offset that a
    resumed import can seek to.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.position = _Position()
        self._record: list[str] = []
        self._undecodable = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        data = self._handle.readline()
        if not data:
            raise StopIteration
        start = self.position
        self.position = _Position(start.offset + len(data), start.line + 1)
        if start.offset == 0:
            data = data.removeprefix(codecs.BOM_UTF8)  # spreadsheet exports often start with one
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self._undecodable = True
            text = data.decode("utf-8", "replace")
        self._record.append(text)
        return text

    def seek(self, position: _Position) -> None:
        self._handle.seek(position.offset)
        self.position = position
        self.take()

    def take(self) -> tuple[str, bool]:
        """The text read since the last call, and whether all of it was valid UTF-8."""
        text, valid = "".join(self._record).rstrip("\r\n"), not self._undecodable
        self._record, self._undecodable = [], False
        return text, valid


def _jsonl_records(lines: _Lines, start: _Position) -> Iterator[_Record]:
    lines.seek(start)
    for _ in lines:
        raw, valid = lines.take()
        number = lines.position.line
        if not raw.strip():
            continue
        if not valid:
            yield _Record(number, raw, problem=_NOT_UTF8)
            continue
        try:
            fields = orjson.loads(raw)  # stops at a fixed depth, where json.loads would exhaust the stack
        except orjson.JSONDecodeError as exc:
            yield _Record(number, raw, problem=f"json: {exc.msg} at column {exc.colno}")
            continue
        if isinstance(fields, dict):
            yield _Record(number, raw, fields=fields)
        else:
            yield _Record(number, raw, problem="json: each line must be one object")


def _csv_records(lines: _Lines, start: _Position) -> Iterator[_Record]:
    rows = csv.reader(lines)
    header = [name.strip() for name in next(rows, [])]
    lines.take()
    if not header:
        return
    _check_header(header)
    if start.offset > lines.position.offset:  # resuming: the header is read, jump past the committed rows
        lines.seek(start)
    while True:
        number = lines.position.line + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Record(number, lines.take()[0], problem=f"csv: {exc}")
            continue
        raw, valid = lines.take()
        if not any(cell.strip() for cell in row):
            continue
        if not valid:
            yield _Record(number, raw, problem=_NOT_UTF8)
        elif len(row) != len(header):
            yield _Record(number, raw, problem=f"csv: {len(row)} cells, but the header has {len(header)} columns")
        else:
            try:
                fields = _nest(header, row)
            except ValueError as exc:
                yield _Record(number, raw, problem=str(exc))
            else:
                yield _Record(number, raw, fields=fields)


def _check_header(header: list[str]) -> None:
    if not all(header):
        raise UnreadableFile("the CSV header has an empty column name")
    if len(set(header)) != len(header):
        raise UnreadableFile("the CSV header names a column twice")
    for column in header:
        if any(other.startswith(column + ".") for other in header):
            raise UnreadableFile(f"CSV column {column!r} is also the start of a dotted column")


def _nest(header: list[str], row: list[str]) -> dict[str, Any]:
    """A CSV row as an intake body: empty cells are absent, dotted columns become nested objects."""
    fields: dict[str, Any] = {}
    for column, cell in zip(header, row, strict=True):
        if not cell.strip():
            continue
        *parents, leaf = column.split(".")
        target = fields
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = _json_cell(column, cell) if column in _JSON_COLUMNS else cell
    return fields


def _json_cell(column: str, cell: str) -> Any:
    try:
        return orjson.loads(cell)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{column}: not valid JSON ({exc.msg} at column {exc.colno})") from exc


def _records_reader(path: Path) -> Callable[[_Lines, _Position], Iterator[_Record]]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_records
    if suffix == ".csv":
        return _csv_records
    raise UnreadableFile(f"{path.name}: expected a .jsonl, .ndjson or .csv file")


def _validate(record: _Record, default_type: str | None) -> _Item | _Reject:
    if record.fields is None:
        return _Reject(record.line, record.raw, UNKNOWN_TYPE, record.problem or "unreadable")
    fields = dict(record.fields)
    kind = fields.pop("type", default_type)
    if not isinstance(kind, str) or kind not in RECORD_TYPES:
        expected = ", ".join(RECORD_TYPES)
        problem = "missing" if kind is None else f"unknown record type {kind!r}"
        return _Reject(record.line, record.raw, UNKNOWN_TYPE, f"type: {problem}; expected {expected}")
    broken = json_problem(fields)
    if broken is not None:
        return _Reject(record.line, record.raw, kind, f"{_dotted(broken[0])}: {broken[1]}")
    try:
        model = RECORD_TYPES[kind].schema.model_validate(fields)
    except ValidationError as exc:
        return _Reject(record.line, record.raw, kind, _describe(exc))
    return _Item(record.line, record.raw, kind, model)


def _describe(error: ValidationError) -> str:
    """Pydantic's errors as `field: message`, with dotted paths like the CSV column names."""
    return "; ".join(f"{_dotted(tuple(e['loc']))}: {e['msg']}" for e in error.errors())


def _dotted(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "record"


def _refused_item(exc: FieldError) -> tuple[int, str]:
    """Which item of a chunk the service refused, and why, naming the field."""
    match = _BATCH_FIELD.match(exc.field)
    if match is None:
        raise exc
    reason = f"{match[2]}: {exc.message}"
    if isinstance(exc, NotFound):
        reason += " (a record can only refer to subjects imported before it or earlier in the file)"
    return int(match[1]), reason


class _Checkpoint:
    """How far the import of one file into one app has committed; kept beside the rejects file."""

    def __init__(self, path: Path, source: dict[str, Any]) -> None:
        self.path = path
        self.source = source

    def load(self, summary: ImportSummary) -> _Position:
        """Where to start: after the last committed chunk, if the state is for this very file and app."""
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):  # no state, or a torn one: start over, safely
            return _Position()
        if not isinstance(state, dict) or state.get("source") != self.source:
            return _Position()
        summary.by_type = {kind: Tally(**counts) for kind, counts in state["by_type"].items()}
        summary.resumed_from_line = state["line"]
        return _Position(state["offset"], state["line"])

    def save(self, position: _Position, summary: ImportSummary) -> None:
        state = {
            "source": self.source,
            "offset": position.offset,
            "line": position.line,
            "by_type": {kind: asdict(tally) for kind, tally in summary.by_type.items()},
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _source(path: Path, app_id: int, default_type: str | None) -> dict[str, Any]:
    """What must be unchanged for a checkpoint to apply: the file (size, time, first MiB) and the options."""
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(_HEAD_BYTES)).hexdigest()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "head_sha256": head, "app_id": app_id, "default_type": default_type}


@dataclass
class _Run:
    """One pass over the file: commits segments, writes rejects, moves the checkpoint."""

    db: Database
    submitter: Submitter
    summary: ImportSummary
    rejects: TextIO
    checkpoint: _Checkpoint
    progress: Progress | None
    total_bytes: int

    def run(self, lines: _Lines, records: Iterator[_Record], start: _Position, default_type: str | None, chunk_size: int) -> None:
        self._report(start)
        segment, handled = _Segment(), start
        for record in records:
            outcome = _validate(record, default_type)
            if isinstance(outcome, _Item) and segment.kind not in (None, outcome.kind):
                self._flush(segment, handled)
                segment = _Segment()
            segment.add(outcome)
            handled = lines.position
            if len(segment) >= chunk_size:
                self._flush(segment, handled)
                segment = _Segment()
        self._flush(segment, lines.position)

    def _flush(self, segment: _Segment, upto: _Position) -> None:
        """Commit the segment's records, then write its rejects, and only then move the checkpoint past it."""
        rejected = segment.rejects + (self._submit(segment.kind, segment.items) if segment.kind else [])
        for reject in sorted(rejected, key=lambda r: r.line):
            self.rejects.write(json.dumps({"line": reject.line, "reason": reject.reason, "record": reject.raw}, ensure_ascii=False) + "\n")
            self.summary.tally(reject.kind).rejected += 1
        self.rejects.flush()
        self.summary.lines = upto.line
        self.checkpoint.save(upto, self.summary)
        self._report(upto)

    def _submit(self, kind: str, items: list[_Item]) -> list[_Reject]:
        """Submit one chunk; a record the service refuses is rejected and the chunk retried without it."""
        rejected: list[_Reject] = []
        while items:
            try:
                with self.db.session() as session:
                    receipts = RECORD_TYPES[kind].submit(session, self.submitter, [item.model for item in items])
            except FieldError as exc:
                index, reason = _refused_item(exc)
                rejected.append(_Reject(items[index].line, items[index].raw, kind, reason))
                items = items[:index] + items[index + 1 :]
            else:
                created = sum(receipt.status == "created" for receipt in receipts)
                tally = self.summary.tally(kind)
                tally.created += created
                tally.existing += len(receipts) - created
                break
        return rejected

    def _report(self, position: _Position) -> None:
        if self.progress is not None:
            self.progress(position.offset, self.total_bytes)


def import_file(
    db: Database,
    path: Path,
    submitter: Submitter,
    *,
    rejects_path: Path | None = None,
    default_type: RecordTypeName | None = None,
    resume: bool = True,
    chunk_size: int = MAX_CHUNK,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a .jsonl or .csv file into the submitter's app.

    `default_type` applies to records without a `type`. With `resume`, an unchanged file
    continues after its last committed chunk. `progress` is called with (bytes done, file size).
    """
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK}")
    if default_type is not None and default_type not in RECORD_TYPES:
        raise ValueError(f"unknown record type {default_type!r}; expected {', '.join(RECORD_TYPES)}")
    read_records = _records_reader(path)
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.jsonl")
    checkpoint = _Checkpoint(rejects_path.with_name(path.name + ".import-state.json"), _source(path, submitter.app_id, default_type))
    summary = ImportSummary(rejects_path)
    start = checkpoint.load(summary) if resume else _Position()
    with path.open("rb") as handle, rejects_path.open("a" if start.line else "w", encoding="utf-8") as rejects:
        lines = _Lines(handle)
        run = _Run(db, submitter, summary, rejects, checkpoint, progress, checkpoint.source["size"])
        run.run(lines, read_records(lines, start), start, default_type, chunk_size)
    checkpoint.clear()
    return summary
