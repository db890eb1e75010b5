"""Files no row claims are swept by the retention job once they are an hour old: what an erasure
left when its process stopped before removing its files, uploads never recorded, half-written
files. Files a row claims stay, however old."""

from __future__ import annotations

import io
import os
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.evidence.conftest import LEGAL, Held
from trustdesk.config import Settings
from trustdesk.demo.images import render_photo
from trustdesk.ingest import media
from trustdesk.privacy.deletion import UNCLAIMED_FOR, delete_subject_data
from trustdesk.privacy.retention import purge_due
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import Blob, utcnow


def _age(path: Path, by: timedelta) -> None:
    then = (datetime.now() - by).timestamp()
    os.utime(path, (then, then))


def _file(blobs: FileBlobStore, sha256: str) -> Path:
    return blobs.root / sha256[:2] / sha256[2:4] / sha256


def test_the_file_of_an_erasure_that_stopped_before_removing_it_is_swept(world: Held, settings: Settings) -> None:
    blobs = FileBlobStore(settings.blob_dir)
    with world.api.db.session() as s:  # committed; the process stops before `remove_files`
        done = delete_subject_data(s, LEGAL, [world.ids["photo-1"], world.ids["photo-2"]], "accounts closed")
    assert done.blobs == [world.photo_sha256] and blobs.exists(world.photo_sha256)

    assert purge_due(world.api.db, settings, blobs).unclaimed_files == 0  # written moments ago: maybe being recorded
    _age(_file(blobs, world.photo_sha256), UNCLAIMED_FOR + timedelta(minutes=1))
    assert purge_due(world.api.db, settings, blobs).unclaimed_files == 1
    assert not blobs.exists(world.photo_sha256)


def test_unrecorded_and_half_written_files_go_and_claimed_ones_stay(world: Held, settings: Settings) -> None:
    blobs = FileBlobStore(settings.blob_dir)
    never_recorded = media.check_and_store(blobs, io.BytesIO(render_photo(11))).blob.sha256
    fresh = media.check_and_store(blobs, io.BytesIO(render_photo(12))).blob.sha256
    half_written = blobs.root / ".incoming-abc123"
    half_written.write_bytes(b"\xff\xd8 cut short")
    stranger = blobs.root / "notes.txt"  # not a blob's name: not ours to remove
    stranger.write_text("kept")
    for path in (_file(blobs, never_recorded), _file(blobs, world.photo_sha256), half_written, stranger):
        _age(path, timedelta(days=400))

    assert purge_due(world.api.db, settings, blobs, now=utcnow()).unclaimed_files == 2
    assert not blobs.exists(never_recorded) and not half_written.exists()
    assert blobs.exists(fresh) and stranger.exists()
    with blobs.open(world.photo_sha256) as kept:  # photo-1 and photo-2 still show it
        assert kept.read() == render_photo(7)
    with world.api.db.reader() as s:
        assert s.execute(select(Blob.sha256)).scalars().all() == [world.photo_sha256]


def test_a_file_recorded_again_before_the_sweep_removes_it_stays(world: Held, settings: Settings) -> None:
    blobs = FileBlobStore(settings.blob_dir)
    with world.api.db.session() as s:
        delete_subject_data(s, LEGAL, [world.ids["photo-1"], world.ids["photo-2"]], "accounts closed")
    _age(_file(blobs, world.photo_sha256), timedelta(days=2))
    r = world.api.post("/api/v1/subjects", {"external_id": "photo-3", "kind": "photo"})
    assert r.status_code == 201, r.text
    r = world.api.client.post("/api/v1/subjects/photo-3/media", headers=world.api.auth,
                              files={"file": ("p.jpg", render_photo(7), "image/jpeg")})
    assert r.status_code == 200, r.text  # the same bytes: their row is back, the file written anew

    assert purge_due(world.api.db, settings, blobs, now=utcnow() + timedelta(days=1)).unclaimed_files == 0
    with blobs.open(world.photo_sha256) as kept:
        assert kept.read() == render_photo(7)
