"""`trustdesk evidence export` writes a package whose every hash `trustdesk evidence verify`
checks; a changed item, a doctored manifest or custody log, each is named."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session

from tests.command_line import run_command
from tests.evidence.conftest import LEGAL, Held
from trustdesk.config import Settings
from trustdesk.domain.legal_holds import HoldSpec, sha256
from trustdesk.evidence import custody, holds, package
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import StaffUser


def _keeper(session: Session, username: str, roles: list[str]) -> None:
    session.add(StaffUser(username=username, display_name=username, password_hash="x", roles=roles, skills={}))


def _exported(world: Held, tmp_path: Path) -> tuple[int, Path]:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["acc-1"]], HoldSpec("ncmec_report", "CyberTipline report 88213")).id
        _keeper(s, "lena", ["legal"])
        _keeper(s, "mo", ["moderator"])
    out = tmp_path / "hold.zip"
    said = run_command("evidence", "export", str(hold_id), "--reason", "requested by the sheriff under warrant 44-B",
                       "--out", str(out), "--by", "lena")
    assert f"wrote {out}: 6 item(s)" in said
    return hold_id, out


def _rewritten(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, change(name, zin.read(name)))
    return target


def test_an_exported_package_verifies_and_records_its_export(world: Held, cli_env: Settings, tmp_path: Path) -> None:
    hold_id, out = _exported(world, tmp_path)
    assert run_command("evidence", "verify", str(out)) == "evidence package intact: 6 items, 2 custody events"
    with zipfile.ZipFile(out) as zf:
        manifest = orjson.loads(zf.read("manifest.json"))
        assert [i["kind"] for i in manifest["items"]] == ["subject", "account_event", "subject", "report", "subject", "media"]
        assert manifest["items"][5]["sha256"] == world.photo_sha256 == sha256(zf.read(manifest["items"][5]["path"]))
        assert manifest["hold"]["basis"] == "ncmec_report" and manifest["hold"]["subjects"][0]["external_id"] == "acc-1"
    with world.api.db.reader() as s:
        export = custody.log_of(s, hold_id)[-1]
        assert (export.verb, export.actor, export.reason) == ("export", "staff:lena", "requested by the sheriff under warrant 44-B")


def test_a_changed_item_is_named(world: Held, cli_env: Settings, tmp_path: Path) -> None:
    _hold_id, out = _exported(world, tmp_path)
    with zipfile.ZipFile(out) as zf:
        report = orjson.loads(zf.read("manifest.json"))["items"][3]["path"]
    bad = _rewritten(out, tmp_path / "bad.zip", lambda name, data: data.replace(b"grooming", b"harmless") if name == report else data)
    said = run_command("evidence", "verify", str(bad), code=1)
    assert said == f"evidence package broken: 1 problem(s) {report}: its SHA-256 does not match the manifest (altered)"


def test_a_manifest_rewritten_to_match_a_changed_item_is_caught_by_the_custody_chain(
    world: Held, cli_env: Settings, tmp_path: Path
) -> None:
    _hold_id, out = _exported(world, tmp_path)
    with zipfile.ZipFile(out) as zf:
        manifest = orjson.loads(zf.read("manifest.json"))
    path = manifest["items"][3]["path"]
    with zipfile.ZipFile(out) as zf:
        forged = zf.read(path).replace(b"grooming", b"harmless")
    manifest["items"][3]["sha256"] = sha256(forged)
    bad = _rewritten(out, tmp_path / "bad.zip", lambda name, data: forged if name == path else orjson.dumps(manifest) if name == "manifest.json" else data)
    said = run_command("evidence", "verify", str(bad), code=1)
    assert said == "evidence package broken: 1 problem(s) manifest.json: its items are not the ones the hold was placed with"


def test_a_doctored_custody_log_is_named(world: Held, cli_env: Settings, tmp_path: Path) -> None:
    _hold_id, out = _exported(world, tmp_path)
    bad = _rewritten(out, tmp_path / "bad.zip",
                     lambda name, data: data.replace(b"staff:lena", b"staff:nobody", 1) if name == "custody.jsonl" else data)
    said = run_command("evidence", "verify", str(bad), code=1)
    assert said == "evidence package broken: 1 problem(s) custody.jsonl: custody event 1 was altered: its content no longer matches its hash"


def _without_hold(manifest: bytes) -> bytes:
    return orjson.dumps({key: value for key, value in orjson.loads(manifest).items() if key != "hold"})


def _item_without_path(manifest: bytes) -> bytes:
    doctored = orjson.loads(manifest)
    del doctored["items"][2]["path"]
    return orjson.dumps(doctored)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda manifest: manifest[:-1], "manifest.json: unreadable, not JSON"),
        (lambda manifest: b"[]", "manifest.json: unreadable, not a JSON object"),
        (_without_hold, "manifest.json: has no hold"),
        (_item_without_path, "manifest.json: item 2 lacks a path, position, kind or SHA-256"),
    ],
    ids=["cut-short", "a-list", "no-hold", "item-without-path"],
)
def test_a_manifest_that_cannot_be_read_is_named(
    world: Held, cli_env: Settings, tmp_path: Path, change: Callable[[bytes], bytes], problem: str
) -> None:
    _hold_id, out = _exported(world, tmp_path)
    bad = _rewritten(out, tmp_path / "bad.zip", lambda name, data: change(data) if name == "manifest.json" else data)
    said = run_command("evidence", "verify", str(bad), code=1)
    assert said == f"evidence package broken: 1 problem(s) {problem}"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda log: log + b"not json\n", "custody.jsonl: unreadable, not JSON lines"),
        (lambda log: log + b"[1, 2]\n", "custody.jsonl: line 3 is not a custody event"),
        (lambda log: log.replace(b'"verb"', b'"verbs"', 1), "custody.jsonl: line 1 is not a custody event"),
    ],
    ids=["not-json", "not-an-object", "a-key-renamed"],
)
def test_a_custody_log_that_cannot_be_read_is_named(
    world: Held, cli_env: Settings, tmp_path: Path, change: Callable[[bytes], bytes], problem: str
) -> None:
    _hold_id, out = _exported(world, tmp_path)
    bad = _rewritten(out, tmp_path / "bad.zip", lambda name, data: change(data) if name == "custody.jsonl" else data)
    assert run_command("evidence", "verify", str(bad), code=1) == f"evidence package broken: 1 problem(s) {problem}"


def test_bytes_changed_in_place_inside_the_zip_are_named(world: Held, cli_env: Settings, tmp_path: Path) -> None:
    _hold_id, out = _exported(world, tmp_path)
    with zipfile.ZipFile(out) as zf:
        member = zf.getinfo(zf.namelist()[-1])
    data = bytearray(out.read_bytes())
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    data[start] ^= 0xFF  # one byte of the stored member, its checksum left as it was
    altered = tmp_path / "altered.zip"
    altered.write_bytes(bytes(data))
    said = run_command("evidence", "verify", str(altered), code=1)
    assert said.startswith("evidence package broken: 1 problem(s) a file in the package is damaged or altered")


def test_only_legal_and_child_safety_staff_export(world: Held, cli_env: Settings, tmp_path: Path) -> None:
    hold_id, _out = _exported(world, tmp_path)
    said = run_command("evidence", "export", str(hold_id), "--reason", "curious", "--out", str(tmp_path / "x.zip"), "--by", "mo", code=2)
    assert said == "by: mo holds neither the legal nor the child-safety role"
    assert not (tmp_path / "x.zip").exists()


def test_a_hold_placed_from_the_command_line_is_on_the_record(world: Held, cli_env: Settings) -> None:
    with world.api.db.session() as s:
        _keeper(s, "lena", ["legal"])
    said = run_command("evidence", "hold", "--app", "dating", "--subject", "post-1", "--subject", "photo-2", "--basis", "ncmec_report",
                       "--reason", "CyberTipline report 88213", "--reference", "NCMEC 88213", "--by", "lena")
    with world.api.db.reader() as s:
        hold = holds.list_holds(s)[0]
        held = holds.view(s, hold.id)
        assert [x.external_id for x in held.subjects] == ["post-1", "photo-2"]
        assert (hold.basis, hold.reference, hold.placed_by) == ("ncmec_report", "NCMEC 88213", "staff:lena")
        assert [(e.verb, e.actor) for e in custody.log_of(s, hold.id)] == [("place", "staff:lena")]
    assert said == (f"placed legal hold {hold.id}: 2 subject(s), {len(held.items)} evidence item(s), "
                    f"held until {hold.expires_at.date() if hold.expires_at else None}")


def test_the_command_line_names_what_it_refuses(world: Held, cli_env: Settings) -> None:
    with world.api.db.session() as s:
        _keeper(s, "lena", ["legal"])
        _keeper(s, "mo", ["moderator"])
    hold = ("evidence", "hold", "--app", "dating", "--subject", "acc-1", "--reason", "counsel asked")
    assert "review_on: a manual hold needs the date" in run_command(*hold, "--basis", "manual", "--by", "lena", code=2)
    assert "subjects: no subject 'ghost'" in run_command(*hold, "--subject", "ghost", "--basis", "ncmec_report", "--by", "lena", code=2)
    assert "by: mo holds neither" in run_command(*hold, "--basis", "ncmec_report", "--by", "mo", code=2)
    with world.api.db.reader() as s:
        assert holds.list_holds(s) == []
    placed = run_command(*hold, "--basis", "manual", "--review-on", "2099-01-31", "--by", "lena")
    assert placed.endswith("held until released, reviewed on 2099-01-31")


def test_an_export_whose_package_cannot_be_written_is_on_the_custody_log_as_failed(
    world: Held, cli_env: Settings, tmp_path: Path,
) -> None:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["acc-1"]], HoldSpec("ncmec_report", "CyberTipline report 88213")).id
    blobs = FileBlobStore(cli_env.blob_dir)
    kept = tmp_path / "photo"
    with blobs.open(world.photo_sha256) as stream:
        kept.write_bytes(stream.read())
    blobs.delete(world.photo_sha256)  # the photo's file is gone from the store
    with pytest.raises(FileNotFoundError):
        package.export(world.api.db, LEGAL, blobs, hold_id, "requested under warrant 44-B", io.BytesIO())
    with world.api.db.reader() as s:
        assert [(e.verb, e.detail) for e in custody.log_of(s, hold_id)][-2:] == [
            ("export", {"format": package.FORMAT}), ("export_failed", {"error": "FileNotFoundError"})]
    with kept.open("rb") as stream:
        blobs.put(stream)  # restored: the next export carries both events, and verifies
    out = tmp_path / "hold.zip"
    with out.open("wb") as target:
        assert package.export(world.api.db, LEGAL, blobs, hold_id, "requested under warrant 44-B", target) == 6
    assert run_command("evidence", "verify", str(out)) == "evidence package intact: 6 items, 4 custody events"
