"""Media items: bytes checked before they are stored, and one row per file of a subject.

Uploads and URL fetches take the same path. The type is found from the bytes
(`trustdesk.domain.media_types`); an image of a type the console shows is decoded in full with
Pillow first, so a decompression bomb or a truncated or corrupt file is refused before anything
is stored, as is an empty file. An upload that is refused is a 422 naming `file`; a fetched file
that is refused is recorded on its media item with the reason, since no request is waiting for
the answer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.analysis.runs import queue_analysis
from trustdesk.audit.log import Actor, record
from trustdesk.domain.media_types import HEAD_BYTES, MediaType, sniff
from trustdesk.domain.vocabulary import HashAlgorithm, MediaSource, MediaStatus
from trustdesk.store.blobs import BlobStore, BlobTooLarge, StoredBlob, register_blob
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Blob, MediaHash, MediaItem, Subject, utcnow

# Larger images are refused as decompression bombs: about 7,000 × 7,000, well above what a host
# platform keeps of a photo, and below the point where Pillow itself starts to warn (89 MP).
MAX_PIXELS = 50_000_000
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


class MediaRefused(ValueError):
    """The bytes are not acceptable media; the message says why and is shown to the sender."""


@dataclass(frozen=True)
class CheckedMedia:
    store: BlobStore  # where the bytes are
    blob: StoredBlob
    type: MediaType
    width: int | None = None
    height: int | None = None


def check_and_store(blobs: BlobStore, stream: BinaryIO, *, max_bytes: int | None = None) -> CheckedMedia:
    """Find the type of a seekable stream's bytes, check an image decodes, then store it.

    Raises `BlobTooLarge` past `max_bytes` and `MediaRefused` for an empty file or an image that
    does not decode; either way nothing is stored.
    """
    size = stream.seek(0, io.SEEK_END)
    if max_bytes is not None and size > max_bytes:
        raise BlobTooLarge(f"{size} bytes is larger than the limit of {max_bytes} bytes")
    if not size:  # nothing for a reviewer to see or a hash to match
        raise MediaRefused("the file is empty")
    media_type, width, height = _inspect(stream)
    stream.seek(0)
    return CheckedMedia(blobs, blobs.put(stream, max_bytes=max_bytes), media_type, width, height)


def _inspect(stream: BinaryIO) -> tuple[MediaType, int | None, int | None]:
    """The type of the bytes, and for an image the size it decodes to."""
    stream.seek(0)
    media_type = sniff(stream.read(HEAD_BYTES))
    if media_type.mime not in _PILLOW_FORMATS:
        return media_type, None, None
    return media_type, *_decoded_size(stream, _PILLOW_FORMATS[media_type.mime])


def _decoded_size(stream: BinaryIO, pillow_format: str) -> tuple[int, int]:
    """Width and height of an image that decodes in full, within `MAX_PIXELS`."""
    try:
        stream.seek(0)
        with Image.open(stream, formats=[pillow_format]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise MediaRefused(
                    f"the image is {width} × {height} pixels, more than the limit of {MAX_PIXELS:,} (a decompression bomb?)"
                )
            image.verify()  # chunk checksums and structure, where the format has them
        stream.seek(0)
        with Image.open(stream, formats=[pillow_format]) as image:
            # A JPEG decodes at an eighth of its size: every byte is still read (a truncated
            # file still fails), in about a seventh of the time and a sixty-fourth of the memory.
            image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()  # every pixel: a truncated file fails here
    except MediaRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaRefused(f"the image is a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:  # its message names the server's temporary file
        raise MediaRefused(f"the bytes begin like a {pillow_format} image but do not open as one") from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the bytes are not a usable image
        raise MediaRefused(f"the {pillow_format} image is truncated or corrupt: {exc}") from exc
    return width, height


def _locked_subject(session: Session, subject_id: int) -> Subject:
    """The subject, locked, so two writers attaching media to it at once take turns."""
    return session.execute(select(Subject).where(Subject.id == subject_id).with_for_update()).scalar_one()


def _next_position(session: Session, subject_id: int) -> int:
    last = session.execute(select(func.max(MediaItem.position)).where(MediaItem.subject_id == subject_id)).scalar_one()
    return 0 if last is None else last + 1


def _fill(session: Session, item: MediaItem, checked: CheckedMedia) -> None:
    """Point an item at checked, stored bytes and write their hashes; `BlobGone` if an erasure
    removed the file meanwhile."""
    register_blob(session, checked.store, checked.blob, checked.type.mime)
    item.blob_sha256, item.size = checked.blob.sha256, checked.blob.size
    item.content_type, item.kind, item.inline = checked.type.mime, checked.type.kind.value, checked.type.inline
    item.width, item.height = checked.width, checked.height
    item.status, item.refused_reason, item.updated_at = MediaStatus.STORED.value, None, utcnow()
    session.flush()
    values = {HashAlgorithm.SHA256: checked.blob.sha256, HashAlgorithm.MD5: checked.blob.md5}
    session.execute(
        conflict_insert(session, MediaHash)
        .values([{"media_item_id": item.id, "algorithm": a.value, "value": v} for a, v in values.items()])
        .on_conflict_do_nothing(index_elements=["media_item_id", "algorithm"])
    )
    queue_analysis(session, [item.subject_id])  # new bytes: the analysers look at them


def _audit(session: Session, actor: Actor, verb: str, item: MediaItem) -> None:
    record(
        session, actor=actor, verb=verb, object_type="subject", object_id=item.subject_id,
        after={
            "media_item_id": item.id, "position": item.position, "status": item.status, "source": item.source,
            "sha256": item.blob_sha256, "content_type": item.content_type, "inline": item.inline,
            "refused_reason": item.refused_reason,
        },
    )


def attach_upload(session: Session, actor: Actor, subject_id: int, checked: CheckedMedia) -> MediaItem:
    """Add uploaded media as the subject's next item; the same bytes again are the same item."""
    _locked_subject(session, subject_id)
    existing = session.execute(
        select(MediaItem).where(MediaItem.subject_id == subject_id, MediaItem.blob_sha256 == checked.blob.sha256)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    item = MediaItem(
        subject_id=subject_id, position=_next_position(session, subject_id),
        source=MediaSource.UPLOAD.value, status=MediaStatus.PENDING.value,
    )
    session.add(item)
    _fill(session, item, checked)
    _audit(session, actor, "subject.media_stored", item)
    return item


def _pending(session: Session, item_id: int) -> MediaItem | None:
    """The item, read again under its subject's lock; None once an earlier run finished it."""
    item = session.get_one(MediaItem, item_id)
    _locked_subject(session, item.subject_id)
    session.refresh(item)
    return item if item.status == MediaStatus.PENDING else None


def complete_fetch(session: Session, actor: Actor, item_id: int, checked: CheckedMedia) -> None:
    """Record what a fetch stored; bytes the subject already holds refuse the item as a repeat."""
    item = _pending(session, item_id)
    if item is None:
        return
    repeat = session.execute(
        select(MediaItem.id).where(MediaItem.subject_id == item.subject_id, MediaItem.blob_sha256 == checked.blob.sha256)
    ).scalar_one_or_none()
    if repeat is not None:
        _refuse(session, actor, item, f"the same file is already media item {repeat} of this subject")
        return
    _fill(session, item, checked)
    _audit(session, actor, "subject.media_fetched", item)


def refuse_fetch(session: Session, actor: Actor, item_id: int, reason: str) -> None:
    item = _pending(session, item_id)
    if item is not None:
        _refuse(session, actor, item, reason)


def _refuse(session: Session, actor: Actor, item: MediaItem, reason: str) -> None:
    item.status, item.refused_reason, item.updated_at = MediaStatus.REFUSED.value, reason, utcnow()
    session.flush()
    _audit(session, actor, "subject.media_refused", item)


def check_unchecked(session: Session, actor: Actor, blobs: BlobStore) -> int:
    """Find the type of media stored before types came from the bytes; returns how many were checked."""
    unchecked = session.execute(select(MediaItem).where(MediaItem.status == MediaStatus.UNCHECKED.value)).scalars().all()
    for item in unchecked:
        blob = session.get(Blob, item.blob_sha256) if item.blob_sha256 else None
        try:
            if blob is None:
                raise FileNotFoundError(item.blob_sha256)
            with blobs.open(blob.sha256) as stream:
                media_type, width, height = _inspect(stream)
        except FileNotFoundError:
            _refuse(session, actor, item, "the file is missing from the blob store")
            continue
        except MediaRefused as exc:
            _refuse(session, actor, item, str(exc))
            continue
        blob.content_type = media_type.mime
        _fill(session, item, CheckedMedia(blobs, StoredBlob(blob.sha256, blob.md5, blob.size), media_type, width, height))
        _audit(session, actor, "subject.media_checked", item)
    return len(unchecked)
