"""Bulk import: JSON Lines and CSV, rejects with line numbers and reasons, idempotent re-runs, resume."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.ingest import bulk_import
from trustdesk.ingest.bulk_import import ImportSummary, Tally, import_file
from trustdesk.ingest.intake import Submitter
from trustdesk.ingest.schemas import Receipt
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.models import AccountEvent, Report, Subject

Row = dict[str, Any]


@pytest.fixture
def submitter(db: Database) -> Submitter:
    actor = Actor("test", "setup")
    with db.session() as session:
        seed_catalogue(session, actor)
        app_id = ensure_app(session, actor, "dating", "Dating").id
    return Submitter(app_id, Actor("import", "test-file"))


def _account(ext: str, **extra: Any) -> Row:
    return {"type": "subject", "external_id": ext, "kind": "account", "country": "DE"} | extra


def _write_jsonl(path: Path, lines: Sequence[Row | str]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines), encoding="utf-8")
    return path


def _write_csv(path: Path, rows: Sequence[Row]) -> Path:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _rejects(summary: ImportSummary) -> list[Row]:
    return [json.loads(line) for line in summary.rejects_path.read_text(encoding="utf-8").splitlines()]


def _external_ids(db: Database, model: type[Subject] | type[Report] | type[AccountEvent]) -> list[str]:
    with db.reader() as session:
        return sorted(session.execute(select(model.external_id)).scalars())


def _chain_ok(db: Database) -> bool:
    with db.reader() as session:
        return verify_chain(session).ok


def _subject(session: Session, ext: str) -> Subject:
    return session.execute(select(Subject).where(Subject.external_id == ext)).scalar_one()


def test_jsonl_of_subjects_reports_and_events_imports_fully(db: Database, submitter: Submitter, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "data.jsonl", [
        _account("acc-1", personal={"email": "one@example.org"}),
        _account("acc-2"),
        {"type": "subject", "external_id": "prof-1", "kind": "profile", "parent_external_id": "acc-1"},
        "",
        {"type": "subject", "external_id": "photo-1", "kind": "photo", "parent_external_id": "prof-1"},
        {"type": "report", "external_id": "rep-1", "subject_external_id": "photo-1", "policy_code": "SCAM",
         "reporter_type": "user", "reporter_external_id": "acc-2", "dsa": {"notifier_email": "two@example.org"}},
        {"type": "account_event", "external_id": "ev-1", "account_external_id": "acc-1", "kind": "login",
         "occurred_at": "2026-01-05T10:00:00Z", "ip": "203.0.113.9"},
    ])
    seen: list[tuple[int, int]] = []

    # Chunks of two put each child in a later chunk than its parent.
    summary = import_file(db, path, submitter, chunk_size=2, progress=lambda done, total: seen.append((done, total)))

    assert summary.total() == Tally(created=6, existing=0, rejected=0)
    assert summary.by_type == {"subject": Tally(created=4), "report": Tally(created=1), "account_event": Tally(created=1)}
    assert summary.lines == 7 and summary.resumed_from_line == 0
    assert _rejects(summary) == []
    size = path.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    with db.reader() as session:
        assert _subject(session, "photo-1").account_id == _subject(session, "acc-1").id
        report = session.execute(select(Report)).scalar_one()
        assert report.subject_id == _subject(session, "photo-1").id and report.notifier_email == "two@example.org"
        assert session.execute(select(AccountEvent.ip)).scalar_one() == "203.0.113.9"
    assert _chain_ok(db)
    assert not (tmp_path / "data.jsonl.import-state.json").exists()


def test_csv_with_dotted_columns_json_attributes_and_empty_cells(db: Database, submitter: Submitter, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "data.csv", [
        {"type": "subject", "external_id": "acc-1", "kind": "account", "country": "FR", "personal.email": "a@example.org",
         "reach.followers": "12", "attributes": '{"vip": true, "tier": 2}'},
        {"type": "subject", "external_id": "post-1", "kind": "post", "parent_external_id": "acc-1", "text": "hello,\n\"world\""},
        {"type": "report", "external_id": "rep-1", "subject_external_id": "post-1", "policy_code": "SPAM",
         "reporter_type": "trusted_flagger", "dsa.notifier_email": "flagger@example.org", "dsa.good_faith": "true"},
        {"type": "account_event", "external_id": "ev-1", "account_external_id": "acc-1", "kind": "purchase",
         "occurred_at": "2026-01-05T10:00:00+00:00", "amount_cents": "1999", "currency": "EUR"},
    ])

    summary = import_file(db, path, submitter)

    assert summary.total() == Tally(created=4)
    with db.reader() as session:
        account = _subject(session, "acc-1")
        assert (account.country, account.reach, account.attributes) == ("FR", {"followers": 12}, {"vip": True, "tier": 2})
        assert account.personal == {"email": "a@example.org"}
        post = _subject(session, "post-1")
        assert post.text == 'hello,\n"world"' and post.title is None and post.parent_id == account.id
        report = session.execute(select(Report)).scalar_one()
        assert report.notifier_email == "flagger@example.org" and report.good_faith is True
        event = session.execute(select(AccountEvent)).scalar_one()
        assert (event.amount_cents, event.currency) == (1999, "EUR")


def test_csv_without_a_type_column_takes_the_default_type(db: Database, submitter: Submitter, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "accounts.csv", [{"external_id": f"acc-{i}", "kind": "account"} for i in range(3)])

    assert import_file(db, path, submitter, default_type="subject").total() == Tally(created=3)
    untyped = import_file(db, path, submitter, rejects_path=tmp_path / "untyped.jsonl")
    assert untyped.by_type == {bulk_import.UNKNOWN_TYPE: Tally(rejected=3)}
    assert _rejects(untyped)[0]["reason"].startswith("type: missing")


def test_bad_lines_are_rejected_with_line_and_field_while_the_lines_around_them_import(
    db: Database, submitter: Submitter, tmp_path: Path
) -> None:
    path = _write_jsonl(tmp_path / "data.jsonl", [
        _account("acc-1"),
        _account("acc-bad", country="germany"),
        '{"type": "subject", "external_id": ',
        {"type": "comment", "external_id": "c-1"},
        _account("acc-2"),
        {"type": "subject", "external_id": "orphan", "kind": "profile", "parent_external_id": "late"},
        {"type": "report", "external_id": "rep-1", "subject_external_id": "acc-1", "policy_code": "SPAM", "reporter_type": "anonymous"},
        {"type": "report", "external_id": "rep-2", "subject_external_id": "ghost", "policy_code": "SPAM", "reporter_type": "anonymous"},
        {"type": "report", "external_id": "rep-3", "subject_external_id": "acc-2", "policy_code": "SPAM", "reporter_type": "anonymous"},
        _account("late"),
    ])

    summary = import_file(db, path, submitter)

    rejects = _rejects(summary)
    assert [r["line"] for r in rejects] == [2, 3, 4, 6, 8]
    reasons = [r["reason"] for r in rejects]
    assert reasons[0] == "country: String should match pattern '^[A-Z]{2}$'"
    assert reasons[1].startswith("json: ")
    assert reasons[2].startswith("type: unknown record type 'comment'")
    assert reasons[3].startswith("parent_external_id: no subject 'late' in this app") and "earlier in the file" in reasons[3]
    assert reasons[4].startswith("subject_external_id: no subject 'ghost'")
    assert json.loads(rejects[0]["record"])["external_id"] == "acc-bad"
    assert summary.by_type == {
        "subject": Tally(created=3, rejected=2), "report": Tally(created=2, rejected=1), bulk_import.UNKNOWN_TYPE: Tally(rejected=2),
    }
    assert _external_ids(db, Subject) == ["acc-1", "acc-2", "late"]
    assert _external_ids(db, Report) == ["rep-1", "rep-3"]
    assert _chain_ok(db)


def test_bad_csv_rows_are_rejected_with_their_physical_line(db: Database, submitter: Submitter, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(
        b"\xef\xbb\xbftype,external_id,kind,text,attributes,reach.followers\r\n"
        b'subject,acc-1,account,"two\r\nlines",,\r\n'
        b"subject,acc-2,account,,{not json},\r\n"
        b"subject,acc-3,account,caf\xe9,,\r\n"
        b"subject,acc-4,account,,,-5\r\n"
        b"subject,acc-5,account\r\n"
        b"\r\n"
        b"subject,acc-6,account,,,\r\n"
    )

    summary = import_file(db, path, submitter)

    rejects = _rejects(summary)
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects] == [
        (4, "attributes"), (5, "encoding"), (6, "reach.followers"), (7, "csv"),
    ]
    assert rejects[0]["record"] == "subject,acc-2,account,,{not json},"
    assert _external_ids(db, Subject) == ["acc-1", "acc-6"]


def test_running_the_same_file_again_finds_everything_existing(db: Database, submitter: Submitter, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "data.jsonl", [_account(f"acc-{i}") for i in range(5)] + [_account("bad", kind="spaceship")])
    first = import_file(db, path, submitter, chunk_size=2)

    again = import_file(db, path, submitter, chunk_size=2)

    assert first.total() == Tally(created=5, rejected=1)
    assert again.total() == Tally(created=0, existing=5, rejected=1)
    assert len(_rejects(again)) == 1  # the rejects file is rewritten, not appended to
    assert _external_ids(db, Subject) == sorted(f"acc-{i}" for i in range(5))


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_a_crash_mid_chunk_keeps_only_committed_chunks_and_resume_finishes(
    db: Database, submitter: Submitter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    rows = [_account(f"acc-{i}") for i in range(7)]
    path = _write_jsonl(tmp_path / "data.jsonl", rows) if suffix == "jsonl" else _write_csv(tmp_path / "data.csv", rows)
    real = bulk_import.RECORD_TYPES["subject"]
    chunks: list[list[str]] = []

    def crash_in_second_chunk(session: Session, who: Submitter, items: Sequence[Any]) -> list[Receipt]:
        chunks.append([item.external_id for item in items])
        receipts = real.submit(session, who, items)  # rows are written in the transaction, then it fails
        if len(chunks) == 2:
            raise RuntimeError("power cut")
        return receipts

    monkeypatch.setitem(bulk_import.RECORD_TYPES, "subject", replace(real, submit=crash_in_second_chunk))
    with pytest.raises(RuntimeError, match="power cut"):
        import_file(db, path, submitter, chunk_size=3)

    assert _external_ids(db, Subject) == ["acc-0", "acc-1", "acc-2"]
    assert _chain_ok(db)
    assert (tmp_path / f"data.{suffix}.import-state.json").exists()

    resumed = import_file(db, path, submitter, chunk_size=3)

    assert chunks[2:] == [["acc-3", "acc-4", "acc-5"], ["acc-6"]]  # the committed chunk was skipped
    assert resumed.resumed_from_line == (3 if suffix == "jsonl" else 4)
    assert resumed.total() == Tally(created=7)
    assert _external_ids(db, Subject) == sorted(f"acc-{i}" for i in range(7))
    assert _chain_ok(db)
    assert not (tmp_path / f"data.{suffix}.import-state.json").exists()


def test_a_crash_where_the_type_changes_resumes_at_the_first_record_of_the_new_type(
    db: Database, submitter: Submitter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = {"type": "report", "policy_code": "SPAM", "reporter_type": "anonymous"}
    path = _write_jsonl(tmp_path / "data.jsonl", [
        _account("acc-0"),
        _account("acc-1"),
        _account("acc-bad", country="germany"),
        report | {"external_id": "rep-0", "subject_external_id": "acc-0"},
        report | {"external_id": "rep-1", "subject_external_id": "acc-1"},
    ])

    def power_cut(session: Session, who: Submitter, items: Sequence[Any]) -> list[Receipt]:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setitem(bulk_import.RECORD_TYPES, "report", replace(bulk_import.RECORD_TYPES["report"], submit=power_cut))
        with pytest.raises(RuntimeError):
            import_file(db, path, submitter)
    resumed = import_file(db, path, submitter)

    assert resumed.resumed_from_line == 3
    assert resumed.by_type == {"subject": Tally(created=2, rejected=1), "report": Tally(created=2)}
    assert [r["line"] for r in _rejects(resumed)] == [3]  # written once, kept across the resume
    assert _external_ids(db, Report) == ["rep-0", "rep-1"]


def test_a_changed_file_or_no_resume_starts_from_the_top(
    db: Database, submitter: Submitter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_jsonl(tmp_path / "data.jsonl", [_account(f"acc-{i}") for i in range(4)])
    real = bulk_import.RECORD_TYPES["subject"]

    def crash_after_first_chunk(session: Session, who: Submitter, items: Sequence[Any]) -> list[Receipt]:
        if items[0].external_id != "acc-0":
            raise RuntimeError("power cut")
        return real.submit(session, who, items)

    with monkeypatch.context() as patch:
        patch.setitem(bulk_import.RECORD_TYPES, "subject", replace(real, submit=crash_after_first_chunk))
        with pytest.raises(RuntimeError):
            import_file(db, path, submitter, chunk_size=2)

    not_resumed = import_file(db, path, submitter, chunk_size=2, resume=False)
    assert (not_resumed.resumed_from_line, not_resumed.total()) == (0, Tally(created=2, existing=2))

    with monkeypatch.context() as patch:
        patch.setitem(bulk_import.RECORD_TYPES, "subject", replace(real, submit=crash_after_first_chunk))
        with pytest.raises(RuntimeError):
            import_file(db, path, submitter, chunk_size=2, resume=False)
    _write_jsonl(path, [_account(f"acc-{i}") for i in range(5)])
    changed = import_file(db, path, submitter, chunk_size=2)
    assert (changed.resumed_from_line, changed.total()) == (0, Tally(created=1, existing=4))


def test_an_unknown_file_format_or_type_is_refused_before_anything_is_read(
    db: Database, submitter: Submitter, tmp_path: Path
) -> None:
    spreadsheet = tmp_path / "data.xlsx"
    spreadsheet.write_bytes(b"PK")
    with pytest.raises(bulk_import.UnreadableFile, match=r"expected a \.jsonl"):
        import_file(db, spreadsheet, submitter)
    with pytest.raises(ValueError, match="unknown record type 'comment'"):
        import_file(db, _write_jsonl(tmp_path / "data.jsonl", []), submitter, default_type="comment")  # type: ignore[arg-type]
    with pytest.raises(bulk_import.UnreadableFile, match="'reach' is also the start"):
        import_file(db, _write_csv(tmp_path / "data.csv", [{"reach": "1", "reach.views": "2"}]), submitter)


def test_the_type_names_offered_to_callers_are_the_record_types() -> None:
    assert set(get_args(bulk_import.RecordTypeName)) == set(bulk_import.RECORD_TYPES)


def test_lines_a_database_could_not_store_are_rejected_not_fatal(db: Database, submitter: Submitter, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "hostile.jsonl", [
        _account("nul", title="a\u0000b"),
        _account("big", reach={"followers": 2**63}),
        '{"type": "subject", "external_id": "deep", "kind": "account", "attributes": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        _account("too-deep", attributes={"x": json.loads("[" * 40 + "]" * 40)}),
        _account("fine"),
    ])

    summary = import_file(db, path, submitter)

    reasons = {r["line"]: r["reason"] for r in _rejects(summary)}
    assert reasons[1] == "title: must not contain a NUL character"
    assert reasons[2].startswith("reach.followers: must lie between")
    assert reasons[3].startswith("json: depth limit exceeded")
    assert reasons[4] == "record: nested deeper than 32 levels"
    assert _external_ids(db, Subject) == ["fine"]


def test_a_media_url_whose_host_does_not_decode_is_rejected_and_the_import_goes_on(
    db: Database, submitter: Submitter, tmp_path: Path
) -> None:
    path = _write_jsonl(tmp_path / "media.jsonl", [
        _account("acc-1"),
        {"type": "subject", "external_id": "p1", "kind": "photo", "account_external_id": "acc-1", "media_url": "http://xn--a.example/"},
        _account("acc-2"),
    ])

    summary = import_file(db, path, submitter)

    [reject] = _rejects(summary)
    assert reject["line"] == 2 and reject["reason"].startswith("media_url: media_url is not a valid URL")
    assert _external_ids(db, Subject) == ["acc-1", "acc-2"]
