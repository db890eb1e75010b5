"""Media fetching against a real local HTTP server: allow-list, redirects, size cap, the job."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from tests.file_server import FileServer, Route, serving_files
from trustdesk.audit.verify import verify_chain
from trustdesk.config import Settings
from trustdesk.ingest.media_fetch import (
    FETCH_MEDIA,
    MAX_REDIRECTS,
    MediaFetchFailed,
    MediaUrlRefused,
    check_media_url,
    fetch_media,
    queue_fetches,
)
from trustdesk.jobs.worker import run_worker
from trustdesk.store.blobs import BlobTooLarge, FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import App, AuditEvent, Blob, Job, MediaHash, MediaItem, Subject

LOCAL = ("127.0.0.1",)
SIZE_LIMIT = 1024


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()


_BIG = b"x" * (SIZE_LIMIT + 1)
ROUTES: dict[str, Route] = {
    "/image.png": (200, PNG, {"Content-Type": "image/png; charset=binary", "Content-Length": str(len(PNG))}),
    "/big": (200, _BIG, {"Content-Type": "image/png", "Content-Length": str(len(_BIG))}),
    "/big-unannounced": (200, _BIG, {"Content-Type": "image/png"}),
    "/to-image": (302, b"", {"Location": "/image.png", "Content-Length": "0"}),
    "/to-elsewhere": (302, b"", {"Location": "http://evil.example/x.png", "Content-Length": "0"}),
    "/loop": (302, b"", {"Location": "/loop", "Content-Length": "0"}),
    "/to-undecodable": (302, b"", {"Location": "http://xn--a.example/x.png", "Content-Length": "0"}),
}


@pytest.fixture
def server() -> Iterator[FileServer]:
    with serving_files(ROUTES) as files:
        yield files


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


def _stored_files(store: FileBlobStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("url", "allow_list"),
    [
        ("http://127.0.0.1:8080/a.png", ("127.0.0.1",)),
        ("https://cdn.example.com/a.png", ("cdn.example.com",)),
        ("http://cdn.example.com:8080/a.png", ("cdn.example.com:8080",)),
        ("http://CDN.Example.com/a.png", ("cdn.example.com:80",)),
        ("http://[::1]:8080/a.png", ("[::1]:8080",)),
    ],
)
def test_allowed_urls_pass(url: str, allow_list: tuple[str, ...]) -> None:
    check_media_url(url, allow_list)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/a.png", "must use http or https, not 'ftp'"),
        ("file:///etc/passwd", "must use http or https, not 'file'"),
        ("/a.png", "must use http or https, not 'no scheme'"),
        ("http://user:pw@127.0.0.1/a.png", "must not contain a user name or password"),
        ("http://127.0.0.1\\@evil.example/a.png", "must not contain a user name or password"),
        ("http://evil.example/a.png", "host evil.example:80 is not on the media URL allow-list"),
        ("http://127.0.0.2/a.png", "host 127.0.0.2:80 is not on the media URL allow-list"),
        ("http://cdn.example.com:8081/a.png", "host cdn.example.com:8081 is not on"),
        ("http://[::1]/a.png", r"host \[::1\]:80 is not on"),
        ("http://xn--a.example/a.png", "not a valid URL"),  # punycode that does not decode: idna refuses it
        ("http://xn--127.0.0.1/a.png", "not a valid URL"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(MediaUrlRefused, match=reason):
        check_media_url(url, ("127.0.0.1", "cdn.example.com:8080"))


def test_allowed_host_is_fetched_and_stored(server: FileServer, store: FileBlobStore) -> None:
    fetched = fetch_media(f"{server.base_url}/image.png", LOCAL, store, SIZE_LIMIT)
    assert fetched.blob.sha256 == hashlib.sha256(PNG).hexdigest()
    assert fetched.blob.md5 == hashlib.md5(PNG).hexdigest()
    assert (fetched.blob.size, fetched.type.mime, fetched.width, fetched.height) == (len(PNG), "image/png", 4, 4)
    with store.open(fetched.blob.sha256) as stored:
        assert stored.read() == PNG


def test_host_not_on_the_list_is_never_contacted(server: FileServer, store: FileBlobStore) -> None:
    with pytest.raises(MediaUrlRefused, match="not on the media URL allow-list"):
        fetch_media(f"{server.base_url}/image.png", ("cdn.example.com",), store, SIZE_LIMIT)
    assert server.requested == []


def test_redirect_to_an_allowed_host_is_followed(server: FileServer, store: FileBlobStore) -> None:
    fetched = fetch_media(f"{server.base_url}/to-image", LOCAL, store, SIZE_LIMIT)
    assert fetched.blob.sha256 == hashlib.sha256(PNG).hexdigest()
    assert server.requested == ["/to-image", "/image.png"]


def test_redirect_to_a_host_not_on_the_list_is_refused(server: FileServer, store: FileBlobStore) -> None:
    with pytest.raises(MediaUrlRefused, match=r"redirect to http://evil.example/x.png refused: .*allow-list"):
        fetch_media(f"{server.base_url}/to-elsewhere", LOCAL, store, SIZE_LIMIT)
    assert server.requested == ["/to-elsewhere"]
    assert _stored_files(store) == []


def test_redirect_to_an_undecodable_host_is_refused(server: FileServer, store: FileBlobStore) -> None:
    with pytest.raises(MediaUrlRefused, match=r"redirect from http://127.0.0.1:\d+/to-undecodable refused: media_url is not a valid URL"):
        fetch_media(f"{server.base_url}/to-undecodable", LOCAL, store, SIZE_LIMIT)
    assert server.requested == ["/to-undecodable"]


def test_redirects_are_limited(server: FileServer, store: FileBlobStore) -> None:
    with pytest.raises(MediaFetchFailed, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch_media(f"{server.base_url}/loop", LOCAL, store, SIZE_LIMIT)
    assert server.requested == ["/loop"] * (MAX_REDIRECTS + 1)


@pytest.mark.parametrize("path", ["/big", "/big-unannounced"])
def test_oversized_media_is_refused_and_nothing_is_stored(server: FileServer, store: FileBlobStore, path: str) -> None:
    with pytest.raises(BlobTooLarge):
        fetch_media(f"{server.base_url}{path}", LOCAL, store, SIZE_LIMIT)
    assert _stored_files(store) == []


def test_error_status_is_refused(server: FileServer, store: FileBlobStore) -> None:
    with pytest.raises(MediaFetchFailed, match="answered HTTP 404"):
        fetch_media(f"{server.base_url}/missing.png", LOCAL, store, SIZE_LIMIT)


def _subject(db: Database, media_url: str) -> tuple[int, int]:
    """A subject whose media URL is queued for fetching, as intake leaves it; (subject, item)."""
    with db.session() as session:
        app = App(slug="dating", name="Dating")
        session.add(app)
        session.flush()
        subject = Subject(app_id=app.id, external_id="photo-1", kind="image", body_hash="0" * 64, media_url=media_url)
        session.add(subject)
        session.flush()
        queue_fetches(session, {subject.id: media_url})
        item_id = session.execute(select(MediaItem.id).where(MediaItem.subject_id == subject.id)).scalar_one()
        return subject.id, item_id


def test_fetch_media_job_stores_the_blob_and_audits(server: FileServer, db: Database, settings: Settings) -> None:
    subject_id, item_id = _subject(db, f"{server.base_url}/image.png")
    assert run_worker(db, settings, worker_id="w1", once=True) >= 2  # the fetch, the analysis (webhook delivery may come due too)

    sha256 = hashlib.sha256(PNG).hexdigest()
    with db.reader() as session:
        item = session.get_one(MediaItem, item_id)
        assert (item.subject_id, item.status, item.blob_sha256, item.content_type, item.kind, item.inline) == (
            subject_id, "stored", sha256, "image/png", "image", True,
        )
        assert (item.source, item.source_url, item.size, item.width, item.height) == ("url", f"{server.base_url}/image.png", len(PNG), 4, 4)
        hashes = {h.algorithm: h.value for h in session.execute(select(MediaHash).where(MediaHash.media_item_id == item_id)).scalars()}
        assert hashes == {"sha256": sha256, "md5": hashlib.md5(PNG).hexdigest()}
        blob = session.get_one(Blob, sha256)
        assert (blob.size, blob.content_type) == (len(PNG), "image/png")
        assert session.execute(select(Job.status).where(Job.kind == FETCH_MEDIA)).scalar_one() == "done"
        assert session.execute(select(Job.status).where(Job.kind == "analyse_subject")).scalar_one() == "done"
        event = session.execute(select(AuditEvent)).scalar_one()
        assert (event.verb, event.actor_type, event.object_type, event.object_id) == (
            "subject.media_fetched", "system", "subject", str(subject_id),
        )
        assert event.after is not None and (event.after["media_item_id"], event.after["sha256"]) == (item_id, sha256)
        result = verify_chain(session)
    assert result.ok, result.problem
    assert FileBlobStore(settings.blob_dir).exists(sha256)


def test_fetch_media_job_refused_url_fails_the_job(server: FileServer, db: Database, settings: Settings) -> None:
    _subject_id, item_id = _subject(db, "http://evil.example/x.png")
    assert run_worker(db, settings, worker_id="w1", once=True) >= 1  # webhook delivery may come due too
    with db.reader() as session:
        job = session.execute(select(Job).where(Job.kind == FETCH_MEDIA)).scalar_one()
        assert job.status == "queued"
        assert job.last_error is not None and job.last_error.startswith("MediaUrlRefused: media_url host evil.example")
        item = session.get_one(MediaItem, item_id)
        assert (item.status, item.blob_sha256) == ("pending", None)
        assert session.execute(select(AuditEvent)).first() is None
