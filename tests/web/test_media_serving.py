"""Media is typed from its bytes and can never run script in the console.

Files are uploaded through the API, or fetched by URL from a real local server by the worker,
then opened as a reviewer would open them from the case or subject page.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import Api
from tests.file_server import FileServer, serving_files
from tests.jobs.last_attempt import every_attempt_died
from trustdesk.audit.log import Actor
from trustdesk.audit.verify import verify_chain
from trustdesk.auth import staff
from trustdesk.auth.api_clients import create_staff_token
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.ingest import intake, media
from trustdesk.jobs.worker import run_worker
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import AuditEvent, Blob, Case, MediaItem
from trustdesk.web.permissions import SESSION_COOKIE

SETUP = Actor("test", "setup")
SANDBOX = "sandbox; default-src 'none'"

SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" onload="document.title='pwned'">
  <script>window.name = 'pwned'; fetch('/api/v1/cases/1');</script>
</svg>"""
HTML = b"<!doctype html><html><body><script>document.title = 'pwned';</script></body></html>"


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A noisy picture, so its compressed form is long enough to cut in half."""
    rng = random.Random(7)
    out = io.BytesIO()
    Image.frombytes("RGB", size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3))).save(out, format=fmt)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(width: int, height: int) -> bytes:
    """A valid PNG of a blank greyscale picture: a few hundred bytes that decode to `width × height`."""
    rows = zlib.compress(b"\x00" * (width + 1) * 16, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


PNG, JPEG = _image("PNG"), _image("JPEG")


@dataclass
class Console:
    api: Api
    settings: Settings
    subjects: dict[str, int]

    def upload(self, external_id: str, body: bytes, declared: str, name: str = "file") -> httpx.Response:
        return self.api.client.post(
            f"/api/v1/subjects/{external_id}/media", files={"file": (name, body, declared)}, headers=self.api.auth,
        )

    def uploaded(self, external_id: str, body: bytes, declared: str) -> int:
        """Upload and return the new media item's id."""
        response = self.upload(external_id, body, declared)
        assert response.status_code == 200, response.text
        return next(m["id"] for m in response.json()["media"] if m["sha256"] == hashlib.sha256(body).hexdigest())

    def open(self, external_id: str, item_id: int | None = None) -> httpx.Response:
        path = f"/subjects/{self.subjects[external_id]}/media" + ("" if item_id is None else f"/{item_id}")
        return self.api.client.get(path)

    def items(self, external_id: str) -> list[MediaItem]:
        with self.api.db.reader() as session:
            query = select(MediaItem).where(MediaItem.subject_id == self.subjects[external_id]).order_by(MediaItem.position)
            return list(session.execute(query).scalars())


@pytest.fixture
def console(api: Api, settings: Settings) -> Console:
    """Subjects to attach media to, and a logged-in moderator's session on the test client."""
    created = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-1", "kind": "account"},
        {"external_id": "photo-1", "kind": "photo", "account_external_id": "acc-1"},
        {"external_id": "photo-2", "kind": "photo", "account_external_id": "acc-1"},
    ]})
    assert created.status_code == 200, created.text
    with api.db.session() as session:
        seed_queues(session, SETUP)
        user = staff.create_user(session, SETUP, settings, username="mia", password="long enough password", roles=["moderator"])
        api.client.cookies.set(SESSION_COOKIE, staff.open_session(session, settings, user))
    return Console(api, settings, {s["external_id"]: s["id"] for s in created.json()["items"]})


def _assert_attachment(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith('attachment; filename="subject-')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == SANDBOX


def _assert_inline(response: httpx.Response, mime: str, body: bytes) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == mime
    assert "content-disposition" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == SANDBOX
    assert response.content == body


@pytest.mark.parametrize(("body", "declared"), [(SVG, "image/svg+xml"), (HTML, "text/html"), (SVG, "image/png"), (HTML, "image/jpeg")])
def test_uploaded_svg_and_html_are_served_as_attachments(console: Console, body: bytes, declared: str) -> None:
    item_id = console.uploaded("photo-1", body, declared)
    [item] = console.items("photo-1")
    assert (item.id, item.content_type, item.kind, item.inline, item.status) == (item_id, "application/octet-stream", "other", False, "stored")
    for response in (console.open("photo-1"), console.open("photo-1", item_id)):
        _assert_attachment(response)
        assert response.content == body
    html = console.api.client.get(f"/subjects/{console.subjects['photo-1']}").text
    assert f'href="/subjects/{console.subjects["photo-1"]}/media/{item_id}" download' in html
    assert f'src="/subjects/{console.subjects["photo-1"]}/media' not in html  # never embedded


def test_a_png_declared_as_html_is_served_inline_as_png(console: Console) -> None:
    item_id = console.uploaded("photo-1", PNG, "text/html")
    [item] = console.items("photo-1")
    assert (item.content_type, item.kind, item.inline, item.width, item.height, item.size) == ("image/png", "image", True, 64, 48, len(PNG))
    _assert_inline(console.open("photo-1", item_id), "image/png", PNG)


def test_the_declared_type_is_ignored_however_long(console: Console) -> None:
    declared = "image/" + "x" * 300
    assert console.uploaded("photo-1", JPEG, declared) == console.items("photo-1")[0].id
    assert console.items("photo-1")[0].content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_png_bomb(30_000, 30_000), "decompression bomb"),  # 900 MP: past Pillow's own limit
        (_png_bomb(8_000, 8_000), "more than the limit of 50,000,000"),  # 64 MP: past ours
        (PNG[: len(PNG) // 2], "truncated or corrupt"),
        (JPEG[: len(JPEG) // 2], "truncated or corrupt"),
        (PNG[:-40] + bytes(40), "truncated or corrupt"),  # damaged rather than short
        (PNG[:8] + bytes(200), "do not open as one"),  # a PNG's signature, then nothing Pillow can read
        (b"", "the file is empty"),
    ],
    ids=["bomb-900MP", "bomb-64MP", "truncated-png", "truncated-jpeg", "corrupt-png", "png-signature-only", "empty"],
)
def test_bombs_and_broken_images_are_refused_and_nothing_is_stored(console: Console, body: bytes, reason: str) -> None:
    response = console.upload("photo-1", body, "image/png")
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "file" and reason in response.json()["detail"]
    assert " at 0x" not in response.json()["detail"]  # no server object's name
    assert console.items("photo-1") == []
    with console.api.db.reader() as session:
        assert session.execute(select(func.count()).select_from(Blob)).scalar_one() == 0
        assert session.execute(select(AuditEvent).where(AuditEvent.verb == "subject.media_stored")).first() is None
    blobs = console.settings.blob_dir
    assert not blobs.exists() or [p for p in blobs.rglob("*") if p.is_file()] == []


def test_a_subject_has_many_media_items_each_with_its_hashes(console: Console) -> None:
    first = console.uploaded("photo-1", JPEG, "image/jpeg")
    second = console.uploaded("photo-1", SVG, "image/svg+xml")
    third = console.uploaded("photo-1", PNG, "image/png")
    again = console.upload("photo-1", JPEG, "image/jpeg")  # the same file again is the same item
    assert again.status_code == 200 and [m["id"] for m in again.json()["media"]] == [first, second, third]
    items = console.items("photo-1")
    assert [(i.id, i.position) for i in items] == [(first, 0), (second, 1), (third, 2)]
    [out] = [m for m in again.json()["media"] if m["id"] == first]
    assert {h["algorithm"]: h["value"] for h in out["hashes"]} == {
        "md5": hashlib.md5(JPEG).hexdigest(), "sha256": hashlib.sha256(JPEG).hexdigest(),
    }
    _assert_inline(console.open("photo-1"), "image/jpeg", JPEG)  # the first item
    _assert_attachment(console.open("photo-1", second))
    assert console.open("photo-2", first).status_code == 404  # an item of another subject
    assert console.open("photo-2").status_code == 404  # no media at all

    page = console.api.client.get(f"/subjects/{console.subjects['photo-1']}").text
    base = f"/subjects/{console.subjects['photo-1']}/media"
    assert f'<img src="{base}/{first}"' in page and f'<img src="{base}/{third}"' in page
    assert page.count("data-reveal") == 2 and f'href="{base}/{second}" download' in page
    assert hashlib.sha256(PNG).hexdigest()[:16] in page
    with console.api.db.reader() as session:
        verbs = session.execute(select(AuditEvent.verb).where(AuditEvent.verb == "subject.media_stored")).scalars().all()
        assert len(verbs) == 3
        assert verify_chain(session).ok


def test_the_case_page_and_case_api_list_every_item(console: Console) -> None:
    first = console.uploaded("photo-1", JPEG, "image/jpeg")
    svg = console.uploaded("photo-1", SVG, "image/svg+xml")
    filed = console.api.post("/api/v1/reports", {"external_id": "r1", "subject_external_id": "photo-1",
                                                 "policy_code": "SPAM", "reporter_type": "anonymous"})
    assert filed.status_code == 201, filed.text
    with console.api.db.reader() as session:
        case_id = session.execute(select(Case.id)).scalar_one()
    page = console.api.client.get(f"/cases/{case_id}").text
    base = f"/subjects/{console.subjects['photo-1']}/media"
    assert f'<img src="{base}/{first}"' in page and f'href="{base}/{svg}" download' in page
    assert f'src="{base}/{svg}"' not in page
    token = _staff_token(console)
    found = console.api.client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {token}"})
    assert found.status_code == 200, found.text
    listed = found.json()["subject"]["media"]
    assert [(m["id"], m["content_type"], m["inline"]) for m in listed] == [(first, "image/jpeg", True), (svg, "application/octet-stream", False)]


def _staff_token(console: Console) -> str:
    with console.api.db.session() as session:
        user = staff.create_user(session, SETUP, console.settings, username="bot", password="long enough password", roles=["moderator"])
        return create_staff_token(session, SETUP, user, "script")[1]


# --- fetched by URL ------------------------------------------------------------------------


@pytest.fixture
def host() -> Iterator[FileServer]:
    """The host platform's media server, declaring whatever type it likes."""
    bomb = _png_bomb(30_000, 30_000)
    with serving_files({
        "/evil.svg": (200, SVG, {"Content-Type": "image/svg+xml", "Content-Length": str(len(SVG))}),
        "/evil.html": (200, HTML, {"Content-Type": "text/html", "Content-Length": str(len(HTML))}),
        "/photo": (200, PNG, {"Content-Type": "text/html", "Content-Length": str(len(PNG))}),
        "/bomb.png": (200, bomb, {"Content-Type": "image/png", "Content-Length": str(len(bomb))}),
        "/cut.png": (200, PNG[:300], {"Content-Type": "image/png", "Content-Length": "300"}),
        "/empty.png": (200, b"", {"Content-Type": "image/png", "Content-Length": "0"}),
    }) as files:
        yield files


def _fetched(console: Console, host: FileServer, external_id: str, path: str, *, stored: bool = True) -> MediaItem:
    """The subject's media fetched by the worker; bytes it stored are then queued for analysis."""
    created = console.api.post("/api/v1/subjects", {"external_id": external_id, "kind": "photo", "media_url": host.base_url + path})
    assert created.status_code == 201, created.text
    console.subjects[external_id] = created.json()["id"]
    [pending] = console.items(external_id)
    assert (pending.status, pending.source, pending.source_url) == ("pending", "url", host.base_url + path)
    # The fetch, then the analysis of stored bytes; webhook delivery, due every second, may run too.
    assert run_worker(console.api.db, console.settings, worker_id="w1", once=True) >= (2 if stored else 1)
    [item] = console.items(external_id)
    return item


@pytest.mark.parametrize("path", ["/evil.svg", "/evil.html"])
def test_fetched_svg_and_html_are_served_as_attachments(console: Console, host: FileServer, path: str) -> None:
    item = _fetched(console, host, "from-url", path)
    assert (item.status, item.content_type, item.inline) == ("stored", "application/octet-stream", False)
    response = console.open("from-url", item.id)
    _assert_attachment(response)
    assert response.content == (SVG if path == "/evil.svg" else HTML)


def test_a_fetched_png_declared_as_html_is_served_inline(console: Console, host: FileServer) -> None:
    item = _fetched(console, host, "from-url", "/photo")
    assert (item.status, item.content_type, item.inline, item.width) == ("stored", "image/png", True, 64)
    _assert_inline(console.open("from-url"), "image/png", PNG)


@pytest.mark.parametrize(
    ("path", "reason"), [("/bomb.png", "decompression bomb"), ("/cut.png", "truncated or corrupt"), ("/empty.png", "the file is empty")],
)
def test_a_fetched_bomb_or_broken_image_is_recorded_as_refused(console: Console, host: FileServer, path: str, reason: str) -> None:
    item = _fetched(console, host, "from-url", path, stored=False)
    assert (item.status, item.blob_sha256, item.inline) == ("refused", None, False)
    assert item.refused_reason is not None and reason in item.refused_reason
    assert console.open("from-url", item.id).status_code == 404
    assert "Media refused: the " in console.api.client.get(f"/subjects/{console.subjects['from-url']}").text
    with console.api.db.reader() as session:
        assert session.execute(select(func.count()).select_from(Blob)).scalar_one() == 0
        event = session.execute(select(AuditEvent).where(AuditEvent.verb == "subject.media_refused")).scalar_one()
        assert event.after is not None and event.after["media_item_id"] == item.id
        assert verify_chain(session).ok


def test_a_fetch_whose_job_died_on_every_attempt_refuses_the_item_with_the_reason(console: Console, host: FileServer) -> None:
    created = console.api.post("/api/v1/subjects", {"external_id": "from-url", "kind": "photo", "media_url": host.base_url + "/photo"})
    assert created.status_code == 201, created.text
    console.subjects["from-url"] = created.json()["id"]
    every_attempt_died(console.api.db, "fetch_media")
    run_worker(console.api.db, console.settings, worker_id="w1", once=True)
    [item] = console.items("from-url")
    assert (item.status, item.blob_sha256) == ("refused", None)
    assert item.refused_reason is not None and "every attempt failed" in item.refused_reason


# --- many writers at once ------------------------------------------------------------------


def test_concurrent_uploads_to_one_subject_keep_one_item_per_file(console: Console, tmp_path: Path) -> None:
    """Eight writers at once, twice each: the same file is one item, different files get
    positions 0..n-1, and the same new bytes on two subjects make one blob row."""
    store = FileBlobStore(tmp_path / "blobs")
    files = [_image("PNG", (8 + n, 8)) for n in range(4)]
    checked = [media.check_and_store(store, io.BytesIO(f)) for f in files]
    who = intake.Submitter(app_id=console.api.app_id, actor=SETUP)
    jobs = [(external_id, c) for c in checked for external_id in ("photo-1", "photo-1", "photo-2", "photo-2")]
    start, errors = threading.Barrier(len(jobs)), []

    def attach(external_id: str, item: media.CheckedMedia) -> None:
        try:
            start.wait()
            with console.api.db.session() as session:
                intake.attach_media(session, who, external_id, item)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=attach, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for external_id in ("photo-1", "photo-2"):
        items = console.items(external_id)
        assert sorted(i.blob_sha256 for i in items) == sorted(c.blob.sha256 for c in checked)
        assert sorted(i.position for i in items) == [0, 1, 2, 3]
    with console.api.db.reader() as session:
        assert session.execute(select(func.count()).select_from(Blob)).scalar_one() == len(files)
