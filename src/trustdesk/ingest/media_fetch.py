"""Fetch media that the host platform sent by URL into the blob store, without becoming an SSRF.

The server only ever requests URLs on hosts the operator allow-listed
(`TRUSTDESK_MEDIA_URL_ALLOW_LIST`): the check runs at intake, so a bad URL is refused with a
422 naming `media_url`, and again before every request, including each redirect hop, which is
followed by hand. The allow-list is trusted as given: an allow-listed name that resolves to an
internal address is the operator's choice. URLs are parsed with httpx's own parser in both the
check and the request, so the two can never disagree about the host.

The type the server declares is ignored: the download is checked like an upload
(`trustdesk.ingest.media`), and a file that is not acceptable media, or too large, is recorded on
its media item as refused, with the reason.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import IO

import httpx
from sqlalchemy import insert
from sqlalchemy.orm import Session

from trustdesk.audit.log import SYSTEM
from trustdesk.domain.client_input import whole_number
from trustdesk.domain.vocabulary import MediaSource, MediaStatus
from trustdesk.ingest import media
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.store.blobs import BlobStore, BlobTooLarge
from trustdesk.store.models import MediaItem, utcnow

FETCH_MEDIA = "fetch_media"
MAX_MEDIA_BYTES = 25 * 1024 * 1024
MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10.0
# Per-read timeouts do not stop a server that drips bytes; this bounds reading the body.
DEADLINE_SECONDS = 120.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_IN_MEMORY_BYTES = 1024 * 1024  # a download larger than this waits on disk while it is checked


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
        parsed.host  # noqa: B018 - decodes the host, which raises on an undecodable punycode label
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are UnicodeError, a ValueError
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


def fetch_media(url: str, allow_list: tuple[str, ...], blob_store: BlobStore, max_bytes: int) -> media.CheckedMedia:
    """Download `url`, check it and store it in `blob_store`.

    Raises `MediaUrlRefused` or `MediaFetchFailed` when nothing could be downloaded, and
    `BlobTooLarge` or `MediaRefused` for a download that is not kept.
    """
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
            except UnicodeError as exc:
                # httpx decodes a redirect's Location before handing the answer back; the target's
                # own host was decoded by the check, so this is the Location's host.
                raise MediaUrlRefused(f"redirect from {target} refused: media_url is not a valid URL: {exc}") from exc
    raise MediaFetchFailed(f"more than {MAX_REDIRECTS} redirects from {url}")


def _redirect_target(response: httpx.Response, allow_list: tuple[str, ...]) -> httpx.URL:
    location = response.url.join(response.headers["location"])
    try:
        return _allowed_url(location, allow_list)
    except MediaUrlRefused as exc:
        raise MediaUrlRefused(f"redirect to {location} refused: {exc}") from exc


def _store(response: httpx.Response, blob_store: BlobStore, max_bytes: int) -> media.CheckedMedia:
    if not response.is_success:
        raise MediaFetchFailed(f"{response.url} answered HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if (whole_number(declared) or 0) > max_bytes:
        raise BlobTooLarge(f"{response.url} declares {declared} bytes; the limit is {max_bytes}")
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES) as download:
        _download(response, download, max_bytes)
        return media.check_and_store(blob_store, download, max_bytes=max_bytes)


def _download(response: httpx.Response, into: IO[bytes], max_bytes: int) -> None:
    """Copy the body, stopping at `max_bytes` (whatever the server declared) or at the deadline."""
    deadline, size = time.monotonic() + DEADLINE_SECONDS, 0
    for chunk in response.iter_bytes():
        if time.monotonic() > deadline:
            raise MediaFetchFailed(f"download took longer than {DEADLINE_SECONDS:.0f} seconds")
        size += len(chunk)
        if size > max_bytes:
            raise BlobTooLarge(f"{response.url} sent more than {max_bytes} bytes")
        into.write(chunk)


@dataclass(frozen=True)
class FetchMedia:
    """The job that fetches one pending media item's URL."""

    media_item_id: int


def queue_fetches(session: Session, urls: dict[int, str]) -> None:
    """Pending media items, and the jobs that fetch them, for subjects created in this
    transaction (subject id → URL), so each is the subject's first item."""
    if not urls:
        return
    now = utcnow()
    rows = [
        {"subject_id": subject_id, "position": 0, "source": MediaSource.URL.value, "source_url": url,
         "status": MediaStatus.PENDING.value, "inline": False, "created_at": now, "updated_at": now}
        for subject_id, url in urls.items()
    ]
    for item_id in session.execute(insert(MediaItem).returning(MediaItem.id), rows).scalars():
        enqueue(session, FetchMedia(item_id))


def gave_up_fetch(ctx: WorkerContext, job: FetchMedia) -> None:
    """The fetch failed on every attempt: the item is refused with the reason, not left pending."""
    with ctx.db.session() as session:
        media.refuse_fetch(session, SYSTEM, job.media_item_id, "could not be fetched: every attempt failed (see the worker's log)")


@job_kind(FETCH_MEDIA, FetchMedia, given_up=gave_up_fetch)
def handle_fetch_media(ctx: WorkerContext, job: FetchMedia) -> None:
    """Job handler: fetch a pending media item's URL; a download that is not kept refuses the item.

    A URL that cannot be fetched now (refused redirect, network error, error status), or whose
    file an erasure removed before it was recorded (`BlobGone`), fails the job, which is retried; an item that is no longer pending was done by an earlier run.
    """
    item_id = job.media_item_id
    with ctx.db.reader() as session:
        item = session.get_one(MediaItem, item_id)
        url, status = str(item.source_url), item.status
    if status != MediaStatus.PENDING:
        return
    try:
        checked = fetch_media(url, ctx.settings.media_url_allow_list, ctx.blobs, MAX_MEDIA_BYTES)
    except (BlobTooLarge, media.MediaRefused) as exc:
        with ctx.db.session() as session:
            media.refuse_fetch(session, SYSTEM, item_id, str(exc))
        return
    with ctx.db.session() as session:
        media.complete_fetch(session, SYSTEM, item_id, checked)
