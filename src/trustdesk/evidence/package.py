"""The evidence package of a hold, and its check.

A package is a zip: `items/` with every evidence item's bytes, `manifest.json` naming each item
with its SHA-256, and `custody.jsonl`, the hold's chain of custody, the export itself included.
`verify` needs nothing but the file: it recomputes every item's hash, walks the custody chain,
and checks that the chain's placing event names exactly the manifest's items (its
`items_digest`), so neither an item nor the manifest can be changed without it showing.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.domain.legal_holds import CustodyVerb, canonical_bytes, custody_problem, items_digest, reason
from trustdesk.evidence import custody
from trustdesk.evidence.holds import hold_of, items_of, view
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import EvidenceItem

MANIFEST = "manifest.json"
CUSTODY_LOG = "custody.jsonl"
FORMAT = "trustdesk-evidence/1"
_EXTENSIONS = {"application/json": "json", "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
               "video/mp4": "mp4"}


def item_path(item: EvidenceItem) -> str:
    return f"items/{item.position:05d}-{item.kind}-{item.source_id}.{_EXTENSIONS.get(item.content_type, 'bin')}"


def export(db: Database, actor: Actor, blobs: BlobStore, hold_id: int, why: str, out: IO[bytes]) -> int:
    """Put the export on the custody log, then write the package, which carries that event, to
    `out`; returns the item count. The event is committed first so that writing a large package
    holds no write lock; a package that then cannot be written goes on the log too, as
    `export_failed`, so the log never shows an export that did not happen as one that did."""
    with db.session() as session:
        record_export(session, actor, hold_id, why)
    try:
        with db.reader() as session:
            return write_package(session, blobs, hold_id, out)
    except Exception as exc:
        with db.session() as session:
            custody.append(session, hold_id, actor, CustodyVerb.EXPORT_FAILED, reason(why), {"error": type(exc).__name__})
        raise


def record_export(session: Session, actor: Actor, hold_id: int, why: str) -> None:
    """The export goes on the custody log first, so the package carries its own export event."""
    why = reason(why)
    hold_of(session, hold_id)
    custody.append(session, hold_id, actor, CustodyVerb.EXPORT, why, {"format": FORMAT})


def write_package(session: Session, blobs: BlobStore, hold_id: int, out: IO[bytes]) -> int:
    """Write the hold's package to `out` (after `record_export` committed); returns the item count."""
    held = view(session, hold_id)
    hold, items = held.hold, items_of(session, hold_id)
    events = [custody.exported(e) for e in custody.log_of(session, hold_id)]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "hold": {"id": hold.id, "basis": hold.basis, "reason": hold.reason, "reference": hold.reference, "placed_by": hold.placed_by,
                 "placed_at": hold.placed_at, "review_on": hold.review_on, "expires_at": hold.expires_at,
                 "released_at": hold.released_at, "subjects": [{"id": s.id, "external_id": s.external_id, "kind": s.kind}
                                                               for s in held.subjects]},
        "items": [{"path": item_path(i), "position": i.position, "kind": i.kind, "source_id": i.source_id, "subject_id": i.subject_id,
                   "sha256": i.sha256, "size": i.size, "content_type": i.content_type} for i in items],
        "custody": {"path": CUSTODY_LOG, "events": len(events), "head": events[-1]["event_hash"] if events else None},
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in items:
            with zf.open(item_path(item), "w") as target:
                if item.body is not None:
                    target.write(item.body)
                else:
                    assert item.blob_sha256 is not None
                    with blobs.open(item.blob_sha256) as source:
                        while chunk := source.read(1 << 20):
                            target.write(chunk)
        zf.writestr(CUSTODY_LOG, b"".join(orjson.dumps(e) + b"\n" for e in events))
        zf.writestr(MANIFEST, orjson.dumps(orjson.loads(canonical_bytes(manifest)), option=orjson.OPT_INDENT_2))
    return len(items)


@dataclass
class PackageCheck:
    items: int = 0
    custody_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path) -> PackageCheck:
    """Check every hash of a package; every problem is named (the item's path, the event's number)."""
    check = PackageCheck()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        check.problems.append(f"not a readable zip: {exc}")
        return check
    with zf:
        try:
            _check_contents(zf, check)
        # A member's bytes changed in place: they no longer inflate, or no longer match their checksum.
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            check.problems.append(f"a file in the package is damaged or altered: {exc}")
    return check


def _check_contents(zf: zipfile.ZipFile, check: PackageCheck) -> None:
    """Check the package's items and custody log against its manifest, noting each problem."""
    names = set(zf.namelist())
    if MANIFEST not in names or CUSTODY_LOG not in names:
        check.problems.append(f"the package lacks {MANIFEST if MANIFEST not in names else CUSTODY_LOG}")
        return
    try:
        manifest = orjson.loads(zf.read(MANIFEST))
    except orjson.JSONDecodeError:
        check.problems.append(f"{MANIFEST}: unreadable, not JSON")
        return
    unusable = _manifest_problem(manifest)
    if unusable:
        check.problems.append(f"{MANIFEST}: {unusable}")
        return
    listed = manifest.get("items", [])
    for entry in listed:
        check.items += 1
        if entry["path"] not in names:
            check.problems.append(f"{entry['path']}: missing from the package")
            continue
        digest = hashlib.sha256()
        with zf.open(entry["path"]) as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            check.problems.append(f"{entry['path']}: its SHA-256 does not match the manifest (altered)")
    stray = sorted(n for n in names - {e["path"] for e in listed} if n.startswith("items/"))
    check.problems.extend(f"{name}: in the package but not in the manifest" for name in stray)
    try:
        events = [orjson.loads(line) for line in zf.read(CUSTODY_LOG).splitlines() if line.strip()]
    except orjson.JSONDecodeError:
        check.problems.append(f"{CUSTODY_LOG}: unreadable, not JSON lines")
        return
    check.custody_events = len(events)
    malformed = next((n for n, event in enumerate(events, start=1) if not _custody_event(event)), None)
    if malformed is not None:
        check.problems.append(f"{CUSTODY_LOG}: line {malformed} is not a custody event")
        return
    problem = custody_problem(events, manifest["hold"]["id"])
    if problem:
        check.problems.append(f"{CUSTODY_LOG}: {problem}")
    elif not events or events[-1]["event_hash"] != manifest["custody"]["head"]:
        check.problems.append(f"{CUSTODY_LOG}: the chain does not end where the manifest says it does")
    elif events[0]["detail"].get("items_digest") != items_digest([(e["position"], e["kind"], e["sha256"]) for e in listed]):
        check.problems.append(f"{MANIFEST}: its items are not the ones the hold was placed with")


# What a custody event carries; an altered log may hold any JSON on a line.
_EVENT_KEYS = ("hold_id", "seq", "actor", "verb", "reason", "detail", "at", "prev_hash", "event_hash")


def _custody_event(event: Any) -> bool:
    return isinstance(event, dict) and all(key in event for key in _EVENT_KEYS) and isinstance(event["detail"], dict)


def _manifest_problem(manifest: Any) -> str | None:
    """What keeps the check from going by a manifest, if anything: an altered package may carry
    any JSON there, and the check reads the hold's id, the custody head and each item's fields."""
    if not isinstance(manifest, dict):
        return "unreadable, not a JSON object"
    hold, chain, items = manifest.get("hold"), manifest.get("custody"), manifest.get("items", [])
    if not isinstance(hold, dict) or "id" not in hold:
        return "has no hold"
    if not isinstance(chain, dict) or "head" not in chain:
        return "has no custody head"
    if not isinstance(items, list):
        return "its items are not a list"
    for index, entry in enumerate(items):
        described = isinstance(entry, dict) and isinstance(entry.get("position"), int) and all(
            isinstance(entry.get(key), str) for key in ("path", "kind", "sha256"))
        if not described:
            return f"item {index} lacks a path, position, kind or SHA-256"
    return None
