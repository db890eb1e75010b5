"""An app that is no longer used is freed with its database: tests make hundreds, and a server
that makes another (a test client, a reload) must not keep the old one's engine and routes."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import TEST_SECRET
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.web.app import create_app


def test_an_app_no_longer_used_is_freed_with_its_database(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'trustdesk.db'}")
    app = create_app(Settings(data_dir=tmp_path, secret_key=TEST_SECRET), db)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/api/v1/no-such-operation").status_code == 404  # tried every route on the way
    freed_app, freed_db = weakref.ref(app), weakref.ref(db)
    db.dispose()
    del app, db, client
    gc.collect()
    assert freed_app() is None and freed_db() is None
