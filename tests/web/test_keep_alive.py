"""A server error or a refused body does not cost the client its keep-alive connection.

These run a real uvicorn server and speak HTTP/1.1 over one raw socket, parsed with h11, so a
connection the server closes shows as a failure instead of being quietly reopened by a client
library. The failing route is added to the app here, only for these tests.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h11
import orjson
from fastapi import APIRouter, Depends

from tests.conftest import TEST_SECRET
from tests.live_server import live_server
from trustdesk.config import Settings
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.web.app import create_app
from trustdesk.web.permissions import public

MAX_BODY = 4096


class Connection:
    """One client connection; each `request` sends a request and reads its whole response."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def request(self, method: str, path: str, body: bytes = b"", chunked: bool = False) -> tuple[int, bytes]:
        headers = [("host", "test")]
        headers += [("transfer-encoding", "chunked")] if chunked else [("content-length", str(len(body)))]
        if body:
            headers.append(("content-type", "application/json"))
        data = self.h11.send(h11.Request(method=method, target=path, headers=headers))
        if body:
            data += self.h11.send(h11.Data(data=body))
        data += self.h11.send(h11.EndOfMessage())
        self.sock.sendall(data)
        status, received = 0, b""
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                chunk = self.sock.recv(65536)
                assert chunk, "the server closed the connection"
                self.h11.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                received += event.data
            elif isinstance(event, h11.EndOfMessage):
                self.h11.start_next_cycle()
                return status, received
            elif isinstance(event, h11.ConnectionClosed):
                raise AssertionError("the server closed the connection")


@contextmanager
def connection(tmp_path: Path) -> Iterator[Connection]:
    url = f"sqlite:///{tmp_path / 'trustdesk.db'}"
    upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key=TEST_SECRET, log_json=False, max_body_bytes=MAX_BODY)
    db = Database(url)
    app = create_app(settings, db)
    failing = APIRouter()

    def fail() -> None:
        raise RuntimeError("fails on purpose")

    for path in ("/api/test-only/fail", "/test-only/fail"):  # the API answers JSON, the console a page
        failing.add_api_route(path, fail, methods=["GET", "POST"], dependencies=[Depends(public())])

    app.include_router(failing)
    try:
        with live_server(app) as base, socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=10) as sock:
            yield Connection(sock)
    finally:
        db.dispose()


def test_the_next_request_on_the_connection_is_answered_after_a_server_error(tmp_path: Path) -> None:
    with connection(tmp_path) as conn:
        for _ in range(20):
            status, body = conn.request("GET", "/api/test-only/fail")
            assert status == 500 and orjson.loads(body) == {"detail": "internal error; it has been logged"}
            assert conn.request("GET", "/healthz") == (200, b'{"status":"ok"}')
        # A request body the failing route never read is skipped, not taken for the next request.
        assert conn.request("POST", "/api/test-only/fail", b'{"unread": true}')[0] == 500
        assert conn.request("GET", "/healthz")[0] == 200


def test_a_chunked_body_over_the_limit_is_413_naming_body_and_the_connection_lives_on(tmp_path: Path) -> None:
    with connection(tmp_path) as conn:
        status, body = conn.request("POST", "/api/v1/subjects", b"[" + b"1," * MAX_BODY + b"1]", chunked=True)
        assert status == 413
        assert orjson.loads(body) == {"detail": f"body: larger than {MAX_BODY} bytes", "field": "body"}
        assert conn.request("GET", "/healthz")[0] == 200
