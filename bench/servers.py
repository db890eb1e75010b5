"""What the benchmarks share: a fresh PostgreSQL database and a TrustDesk server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy import create_engine, text

POSTGRES_ADMIN = os.environ.get("TRUSTDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-key-0123456789"


def fresh_postgres(name: str) -> str:
    """Drop and create database `name` next to the admin database; return its URL."""
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name


def server_env(url: str, data_dir: str, source: str | None = None) -> dict[str, str]:
    """The environment of a TrustDesk process on that database and data directory; `source`, a
    checkout's `src` directory, runs that release's code instead of the installed one."""
    env = os.environ | {"TRUSTDESK_DATABASE_URL": url, "TRUSTDESK_DATA_DIR": data_dir, "TRUSTDESK_SECRET_KEY": SECRET}
    return env | {"PYTHONPATH": source} if source else env


def serve(url: str, data_dir: str, source: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start `trustdesk serve` (one uvicorn worker, no background worker) and wait for /healthz."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "trustdesk.cli", "serve", "--no-worker", "--port", str(port)],
        env=server_env(url, data_dir, source), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the server did not start")
