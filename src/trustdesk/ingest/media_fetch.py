"""Fetch media that the host platform sent by URL into the blob store, without becoming an SSRF.

The server only ever requests URLs on hosts the operator allow-listed
(`TRUSTDESK_MEDIA_URL_ALLOW_LIST`): the check runs at intake, so a bad URL is refused with a
422 naming `media_url`, and again before every request, including each redirect hop, which is
followed by hand. The allow-list is trusted as given: an allow-listed name that resolves to an
internal address is the operator's choice. URLs are parsed with httpx's own parser in both the
check and the request, so the two can never disagree about the host.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from trustdesk.audit.log import SYSTEM, record
from trustdesk.store.blobs import BlobStore, BlobTooLarge, StoredBlob
from trustdesk.store.models import Blob, Subject, utcnow

if TYPE_CHECKING:  # the worker imports this module to register its handler
    from trustdesk.jobs.worker import WorkerContext

FETCH_MEDIA = "fetch_media"
MAX_MEDIA_BYTES = 25 * 1024 * 1024
MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10.0
# Per-read timeouts do not stop a server that drips bytes; this bounds reading the body.
DEADLINE_SECONDS = 120.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTENT_TYPE_MAX = 100  # the width of Blob.content_type / Subject.media_type


class MediaUrlRefused(ValueError):
    """The URL may not be fetched; the message says why and is shown to the API client."""


class MediaFetchFailed(RuntimeError):
    """The URL was allowed but the download did not succeed."""


def check_media_url(url: str, allow_list: tuple[str, ...]) -> None:
    """Refuse anything but plain http(s) to an allow-listed host; entries are `host` or `host:port`."""
    _allowed_url(url, allow_list)


def _allowed_url(url: str | httpx.URL, allow_list: tuple[str, ...]) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise MediaUrlRefused(f"media_url is not a valid URL: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise MediaUrlRefused(f"media_url must use http or https, not {parsed.scheme or 'no scheme'!r}")
    if parsed.userinfo:
        raise MediaUrlRefused("media_url must not contain a user name or password")
    if not parsed.host:
        raise MediaUrlRefused("media_url has no host")
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    if not {parsed.host, host, f"{host}:{port}"} & set(allow_list):
        raise MediaUrlRefused(f"media_url host {host}:{port} is not on the media URL allow-list")
    return parsed


def fetch_media(
    url: str, allow_list: tuple[str, ...], blob_store: BlobStore, max_bytes: int
) -> tuple[StoredBlob, str]:
    """Download `url` into `blob_store`; return the blob and the content type the server gave."""
    target = _allowed_url(url, allow_list)
    # trust_env=False: no proxy from the environment, and no ~/.netrc credentials sent anywhere.
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with client.stream("GET", target) as response:
                    if response.is_redirect:
                        target = _redirect_target(response, allow_list)
                        continue
                    return _store(response, blob_store, max_bytes)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise MediaFetchFailed(f"could not fetch {target}: {exc}") from exc
    raise MediaFetchFailed(f"more than {MAX_REDIRECTS} redirects from {url}")


def _redirect_target(response: httpx.Response, allow_list: tuple[str, ...]) -> httpx.URL:
    location = response.url.join(response.headers["location"])
    try:
        return _allowed_url(location, allow_list)
    except MediaUrlRefused as exc:
        raise MediaUrlRefused(f"redirect to {location} refused: {exc}") from exc


def _store(response: httpx.Response, blob_store: BlobStore, max_bytes: int) -> tuple[StoredBlob, str]:
    if not response.is_success:
        raise MediaFetchFailed(f"{response.url} answered HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BlobTooLarge(f"{response.url} declares {declared} bytes; the limit is {max_bytes}")
    content_type = response.headers.get("content-type", "application/octet-stream")
    content_type = content_type.split(";")[0].strip().lower()[:_CONTENT_TYPE_MAX] or "application/octet-stream"
    stream = io.BufferedReader(_ChunkStream(response.iter_bytes(), time.monotonic() + DEADLINE_SECONDS))
    return blob_store.put(stream, max_bytes=max_bytes), content_type


class _ChunkStream(io.RawIOBase):
    """The file-like `read()` that `BlobStore.put` wants, over a streamed response body."""

    def __init__(self, chunks: Iterator[bytes], deadline: float) -> None:
        self._chunks = chunks
        self._deadline = deadline
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if time.monotonic() > self._deadline:
                raise MediaFetchFailed(f"download took longer than {DEADLINE_SECONDS:.0f} seconds")
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def handle_fetch_media(ctx: WorkerContext, payload: dict[str, Any]) -> None:
    """Job handler: fetch a subject's media and point the subject at the stored blob."""
    subject_id, url = int(payload["subject_id"]), str(payload["url"])
    stored, content_type = fetch_media(url, ctx.settings.media_url_allow_list, ctx.blobs, MAX_MEDIA_BYTES)
    with ctx.db.session() as session:
        subject = session.get(Subject, subject_id)
        if subject is None:
            raise LookupError(f"subject {subject_id} no longer exists")
        if session.get(Blob, stored.sha256) is None:
            session.add(Blob(sha256=stored.sha256, md5=stored.md5, size=stored.size, content_type=content_type))
        before = _media_fields(subject)
        subject.media_sha256, subject.media_md5, subject.media_type = stored.sha256, stored.md5, content_type
        subject.updated_at = utcnow()
        record(
            session,
            actor=SYSTEM,
            verb="subject.media_fetched",
            object_type="subject",
            object_id=subject.id,
            before=before,
            after=_media_fields(subject),
        )


def _media_fields(subject: Subject) -> dict[str, Any]:
    return {"media_sha256": subject.media_sha256, "media_md5": subject.media_md5, "media_type": subject.media_type}
