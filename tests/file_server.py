"""A real HTTP server on 127.0.0.1 answering fixed responses by path, for tests that fetch URLs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# status, body, headers; a body sent without Content-Length ends when HTTP/1.0 closes the connection.
Route = tuple[int, bytes, dict[str, str]]


@dataclass
class FileServer:
    base_url: str
    requested: list[str] = field(default_factory=list)


@contextmanager
def serving_files(routes: dict[str, Route]) -> Iterator[FileServer]:
    """Serve `routes` (path → response; anything else is a 404) until the block ends."""
    server = FileServer("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            server.requested.append(self.path)
            status, body, headers = routes.get(self.path, (404, b"not here", {"Content-Length": "8"}))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
