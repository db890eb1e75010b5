"""Identical bytes are one file: an erasure of the last subject that used a file and an upload of
the same bytes to another subject take turns on the blob, so the upload's file is never lost."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.evidence.conftest import LEGAL, Held
from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.demo.images import CONTENT_TYPE, render_photo
from trustdesk.ingest import intake, media
from trustdesk.privacy.deletion import Deletion, delete_subject_data, remove_files
from trustdesk.store.blobs import BlobGone, FileBlobStore
from trustdesk.store.models import Blob, MediaItem, Subject


def _erase_both_photos(world: Held) -> Deletion:
    """Erase the two subjects that show the shared photo; its file is not removed yet."""
    with world.api.db.session() as s:
        done = delete_subject_data(s, LEGAL, [world.ids["photo-1"], world.ids["photo-2"]], "accounts closed")
    assert done.blobs == [world.photo_sha256]
    return done


def _new_photo(world: Held) -> intake.Submitter:
    r = world.api.post("/api/v1/subjects", {"external_id": "photo-3", "kind": "photo"})
    assert r.status_code == 201, r.text
    return intake.Submitter(world.api.app_id, Actor("client", "dating-backend"), None, ())


def _media_of_photo_3(world: Held) -> list[str | None]:
    with world.api.db.reader() as s:
        return list(s.execute(select(MediaItem.blob_sha256).join(Subject, Subject.id == MediaItem.subject_id)
                              .where(Subject.external_id == "photo-3")).scalars())


def test_bytes_recorded_again_before_the_file_is_removed_keep_it(world: Held, settings: Settings) -> None:
    blobs = FileBlobStore(settings.blob_dir)
    _new_photo(world)
    done = _erase_both_photos(world)
    r = world.api.client.post("/api/v1/subjects/photo-3/media", headers=world.api.auth,
                              files={"file": ("p.jpg", render_photo(7), CONTENT_TYPE)})
    assert r.status_code == 200, r.text
    assert remove_files(world.api.db, blobs, done.blobs) == 0
    assert _media_of_photo_3(world) == [world.photo_sha256]
    with blobs.open(world.photo_sha256) as kept:
        assert kept.read() == render_photo(7)


def test_bytes_whose_file_an_erasure_removed_meanwhile_are_refused_and_nothing_is_written(world: Held, settings: Settings) -> None:
    blobs = FileBlobStore(settings.blob_dir)
    who = _new_photo(world)
    checked = media.check_and_store(blobs, io.BytesIO(render_photo(7)))  # stored, not yet recorded
    assert remove_files(world.api.db, blobs, _erase_both_photos(world).blobs) == 1
    with pytest.raises(BlobGone), world.api.db.session() as s:
        intake.attach_media(s, who, "photo-3", checked)
    assert _media_of_photo_3(world) == []
    with world.api.db.reader() as s:
        assert s.get(Blob, world.photo_sha256) is None


def test_an_upload_whose_file_went_meanwhile_is_a_409_naming_file(world: Held, settings: Settings,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _new_photo(world)

    def stored_then_removed(store: FileBlobStore, stream: Any, **kwargs: Any) -> media.CheckedMedia:
        checked = real(store, stream, **kwargs)
        store.delete(checked.blob.sha256)  # an erasure's file removal, between storing and recording
        return checked

    real = media.check_and_store
    monkeypatch.setattr(media, "check_and_store", stored_then_removed)
    r = world.api.client.post("/api/v1/subjects/photo-3/media", headers=world.api.auth,
                              files={"file": ("p.jpg", render_photo(99), CONTENT_TYPE)})
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "file" and "send it again" in r.json()["detail"]
    assert _media_of_photo_3(world) == []


def _while_a_writer_holds_the_turn(world: Held, checked: media.CheckedMedia, work: Callable[[], Any]) -> Any:
    """Run `work` in a thread while an upload of the same bytes to photo-3 is recorded but not
    committed; it must wait for that upload to commit. Returns what `work` returned."""
    who = _new_photo(world)
    recorded, commit = threading.Event(), threading.Event()
    results: list[Any] = []

    def upload() -> None:
        with world.api.db.session() as s:
            intake.attach_media(s, who, "photo-3", checked)
            recorded.set()
            assert commit.wait(30)

    writer = threading.Thread(target=upload)
    writer.start()
    assert recorded.wait(30)
    other = threading.Thread(target=lambda: results.append(work()))
    other.start()
    time.sleep(0.5)
    try:
        assert other.is_alive(), "it did not wait for the writer holding the blob's turn"
    finally:
        commit.set()
        writer.join(30)
        other.join(30)
    assert _media_of_photo_3(world) == [world.photo_sha256]
    assert len(results) == 1, "it failed"
    return results[0]


def test_the_file_removal_waits_for_a_writer_recording_the_same_bytes(world: Held, settings: Settings) -> None:
    """The eraser's file removal waits for the upload, then sees the blob claimed again and keeps the file."""
    blobs = FileBlobStore(settings.blob_dir)
    done = _erase_both_photos(world)
    checked = media.check_and_store(blobs, io.BytesIO(render_photo(7)))
    assert _while_a_writer_holds_the_turn(world, checked, lambda: remove_files(world.api.db, blobs, done.blobs)) == 0
    assert blobs.exists(world.photo_sha256)


def test_an_erasure_waits_for_a_writer_recording_the_same_bytes(world: Held, settings: Settings) -> None:
    """The erasure's check that nobody uses the blob any more waits for the upload, then keeps it:
    on PostgreSQL it would otherwise drop a row the upload's new media item points at."""
    blobs = FileBlobStore(settings.blob_dir)
    checked = media.check_and_store(blobs, io.BytesIO(render_photo(7)))

    def erase() -> Deletion:
        with world.api.db.session() as s:
            return delete_subject_data(s, LEGAL, [world.ids["photo-1"], world.ids["photo-2"]], "accounts closed")

    assert _while_a_writer_holds_the_turn(world, checked, erase).blobs == []
    with world.api.db.reader() as s:
        assert s.get(Blob, world.photo_sha256) is not None
    assert blobs.exists(world.photo_sha256)
