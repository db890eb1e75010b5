"""Revision 0003 moves a subject's media columns into media items, on both databases, and back."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from PIL import Image
from sqlalchemy import create_engine, inspect, text

from tests.conftest import TEST_SECRET
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.ingest import media
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.migrate import alembic_config, upgrade
from trustdesk.store.models import MediaHash, MediaItem

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (5, 3), (9, 9, 9)).save(out, format="PNG")
    return out.getvalue()


def test_media_columns_move_into_items_and_back(empty_url: str, tmp_path: Path) -> None:
    upgrade(empty_url, "0002")
    store = FileBlobStore(tmp_path / "blobs")
    png = store.put(io.BytesIO(_png()))
    svg = store.put(io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'))
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'dating', 'Dating', :t)"), {"t": NOW})
        for sha, md5, size in ((png.sha256, png.md5, png.size), (svg.sha256, svg.md5, svg.size)):
            conn.execute(text("INSERT INTO blobs (sha256, md5, size, content_type, created_at) VALUES (:s, :m, :n, 'image/png', :t)"),
                         {"s": sha, "m": md5, "n": size, "t": NOW})
        subjects = [  # id, media_sha256, media_md5, media_type, media_url
            (1, png.sha256, png.md5, "image/png", None),
            (2, svg.sha256, svg.md5, "image/png", "http://127.0.0.1/x.png"),  # the client said PNG
            (3, None, None, None, "http://127.0.0.1/later.png"),  # still to be fetched
            (4, None, None, None, None),
        ]
        for sid, sha, md5, mime, url in subjects:
            conn.execute(text(
                "INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, media_sha256, "
                "media_md5, media_type, media_url, body_hash, received_at, updated_at) VALUES (:id, 1, :ext, 'photo', 'visible', "
                "'{}', '{}', '{}', :sha, :md5, :mime, :url, :h, :t, :t)"
            ), {"id": sid, "ext": f"p{sid}", "sha": sha, "md5": md5, "mime": mime, "url": url, "h": "0" * 64, "t": NOW})
        conn.execute(text(
            "INSERT INTO jobs (kind, payload, status, run_at, attempts, max_attempts, created_at) VALUES "
            "('fetch_media', :p, 'queued', :t, 0, 5, :t)"
        ), {"p": '{"subject_id": 3, "url": "http://127.0.0.1/later.png"}', "t": NOW})
    engine.dispose()

    upgrade(empty_url)
    personal_data.configure(TEST_SECRET)
    db = Database(empty_url)
    try:
        with db.reader() as session:
            items = {i.subject_id: i for i in session.query(MediaItem)}
            hashes = {(h.media_item_id, h.algorithm): h.value for h in session.query(MediaHash)}
            payload = session.execute(text("SELECT payload FROM jobs WHERE kind = 'fetch_media'")).scalar_one()
        assert set(items) == {1, 2, 3}
        assert [(items[s].status, items[s].source, items[s].inline, items[s].content_type) for s in (1, 2, 3)] == [
            ("unchecked", "upload", False, None), ("unchecked", "url", False, None), ("pending", "url", False, None),
        ]
        assert (items[1].blob_sha256, items[1].size, items[1].position) == (png.sha256, png.size, 0)
        assert hashes[(items[1].id, "md5")] == png.md5 and hashes[(items[2].id, "sha256")] == svg.sha256
        assert (json.loads(payload) if isinstance(payload, str) else payload) == {"media_item_id": items[3].id}
        assert not {"media_sha256", "media_md5", "media_type"} & {c["name"] for c in inspect(db.engine).get_columns("subjects")}

        with db.session() as session:
            assert media.check_unchecked(session, Actor("cli", "operator"), store) == 2
        with db.reader() as session:
            checked = {i.subject_id: i for i in session.query(MediaItem)}
        assert (checked[1].status, checked[1].content_type, checked[1].inline, checked[1].width) == ("stored", "image/png", True, 5)
        # What the client called a PNG is markup: stored, but only ever a download.
        assert (checked[2].status, checked[2].content_type, checked[2].inline) == ("stored", "application/octet-stream", False)
    finally:
        db.dispose()

    command.downgrade(alembic_config(empty_url), "0002")
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, media_sha256, media_md5, media_type FROM subjects ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, png.sha256, png.md5, "image/png"), (2, svg.sha256, svg.md5, "application/octet-stream"),
        (3, None, None, None), (4, None, None, None),
    ]
