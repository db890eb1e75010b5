"""Content-addressed blob storage for media and evidence.

A blob is named by the SHA-256 of its bytes, so storing the same file twice costs nothing and
a name proves the content. `BlobStore` is the interface; `FileBlobStore` keeps blobs under the
data directory. An S3-compatible store implements the same six methods. Only the deletion
path (`trustdesk.privacy.deletion`) deletes a blob.

Identical bytes are one file, so an erasure of the last subject that used a file can meet an
upload of the same bytes to another subject. Both take turns on the blob (`lock_blob`): the
writer records the blob's row only while its file is there (`register_blob`, else `BlobGone`:
send the bytes again), and the eraser removes a file only while no row claims it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import text
from sqlalchemy.orm import Session

from trustdesk.store.dialects import conflict_insert, dialect_name
from trustdesk.store.models import Blob, utcnow

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    md5: str
    size: int


class BlobTooLarge(ValueError):
    pass


class BlobGone(Exception):
    """The file was removed (the last subject using it was erased) between storing the bytes
    and recording them: nothing was recorded, and the bytes must be sent again."""


class BlobStore(ABC):
    @abstractmethod
    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredBlob:
        """Store the stream's bytes; raise BlobTooLarge past `max_bytes`, storing nothing."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading; FileNotFoundError if absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def delete(self, sha256: str) -> bool:
        """Remove a stored blob; False if it was not there."""

    @abstractmethod
    def names(self, written_before: datetime) -> Iterator[str]:
        """The hashes of the blobs last written before `written_before` (storing the same bytes
        again writes them anew), for finding files that no row claims."""

    @abstractmethod
    def discard_unfinished(self, started_before: datetime) -> int:
        """Remove what writes started before `started_before` left half-done (a process stopped
        in the middle of `put`); how many."""


class FileBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise FileNotFoundError(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredBlob:
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLarge(f"larger than {max_bytes} bytes")
                    sha.update(chunk)
                    md5.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            digest = sha.hexdigest()
            final = self._path(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)  # atomic: a reader never sees a half-written blob
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredBlob(digest, md5.hexdigest(), size)

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        try:
            return self._path(sha256).is_file()
        except FileNotFoundError:
            return False

    def delete(self, sha256: str) -> bool:
        try:
            self._path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self, written_before: datetime) -> Iterator[str]:
        cutoff = written_before.timestamp()
        for path in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            if path.parent.name != path.name[2:4] or path.parent.parent.name != path.name[:2]:
                continue  # not a name `_path` gives
            try:
                if path.stat().st_mtime < cutoff and self._path(path.name) == path:
                    yield path.name
            except FileNotFoundError:  # removed meanwhile, or not a hash
                continue

    def discard_unfinished(self, started_before: datetime) -> int:
        cutoff, removed = started_before.timestamp(), 0
        for path in self.root.glob(".incoming-*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


# The advisory lock space of blobs on PostgreSQL (the two-key form, apart from single-key locks).
_BLOB_LOCKS = 0x626C6F62  # "blob"


def lock_blob(session: Session, sha256: str) -> None:
    """Take the blob's turn until the transaction ends. PostgreSQL: an advisory lock on the
    hash's first 32 bits (a shared key only makes two blobs wait for each other); SQLite runs
    one writing transaction at a time already."""
    if dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                        {"space": _BLOB_LOCKS, "key": int(sha256[:8], 16) - 2**31})


def register_blob(session: Session, blobs: BlobStore, stored: StoredBlob, content_type: str) -> None:
    """Record a stored blob in the database once; the same bytes stored again, even by two
    writers at the same moment, add nothing. `BlobGone` if an erasure removed the file since."""
    lock_blob(session, stored.sha256)
    if not blobs.exists(stored.sha256):
        raise BlobGone(f"the file {stored.sha256} was removed while it was being stored")
    row = {"sha256": stored.sha256, "md5": stored.md5, "size": stored.size, "content_type": content_type, "created_at": utcnow()}
    session.execute(conflict_insert(session, Blob).values(row).on_conflict_do_nothing(index_elements=["sha256"]))
