"""Batch intake throughput: one client POSTs batches of 1,000 reports to one uvicorn worker.

    python bench/intake.py                 # SQLite and PostgreSQL, 50 timed batches each
    python bench/intake.py --db sqlite --batches 100

Each report body is about 300 bytes of JSON. The server runs as a separate process
(`trustdesk serve --no-worker`) on loopback; the client sends pre-encoded bodies so that its
own cost stays out of the figure. Prints reports/s and batch latency; the target is
5,000 reports/s on SQLite on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from servers import SECRET, fresh_postgres, serve

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.auth.api_clients import create_client
from trustdesk.domain.vocabulary import Scope
from trustdesk.ingest import intake
from trustdesk.ingest.schemas import SubjectIn
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade

TARGET = 5000
POLICIES = ("SPAM", "SCAM", "HARASSMENT", "COUNTERFEIT", "HATE_SPEECH")
SUBJECTS = 5000


def _prepare(url: str) -> str:
    """Migrate, seed policies, one app with a pool of subjects; return an API token."""
    upgrade(url)
    personal_data.configure(SECRET)
    db = Database(url)
    actor = Actor("bench", "setup")
    with db.session() as session:
        seed_catalogue(session, actor)
        app = ensure_app(session, actor, "bench", "Bench")
        _client, token = create_client(session, actor, app, "bench-client", list(Scope))
        who = intake.Submitter(app_id=app.id, actor=actor)
    for start in range(0, SUBJECTS, 1000):
        with db.session() as session:
            intake.create_subjects(
                session, who, [SubjectIn(external_id=f"s{i}", kind="message", text="hello there") for i in range(start, start + 1000)]
            )
    db.dispose()
    return token


def _batch(rng: random.Random, number: int, size: int) -> bytes:
    words = "please review this message it looks like spam offering crypto returns and a link".split()
    items = []
    for i in range(size):
        items.append(
            {
                "external_id": f"r{number}-{i}",
                "subject_external_id": f"s{rng.randrange(SUBJECTS)}",
                "policy_code": rng.choice(POLICIES),
                "reporter_type": "anonymous",
                "text": " ".join(rng.choice(words) for _ in range(30))[:205],
            }
        )
    return json.dumps({"items": items}).encode()


def run(db_kind: str, batches: int, size: int) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{Path(data_dir) / 'bench.db'}" if db_kind == "sqlite" else fresh_postgres("trustdesk_bench")
        token = _prepare(url)
        server, base = serve(url, data_dir)
        try:
            with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}) as client:
                rng = random.Random(7)
                bodies = [_batch(rng, n, size) for n in range(batches + 2)]
                mean_bytes = (sum(len(b) for b in bodies) / len(bodies) - len('{"items": []}')) / size
                for body in bodies[:2]:  # warm-up: connection, caches, first page allocations
                    client.post("/api/v1/reports/batch", content=body).raise_for_status()
                latencies = []
                started = time.perf_counter()
                for body in bodies[2:]:
                    t0 = time.perf_counter()
                    client.post("/api/v1/reports/batch", content=body).raise_for_status()
                    latencies.append(time.perf_counter() - t0)
                elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(10)
    rate = batches * size / elapsed
    latencies.sort()
    print(
        f"{db_kind:10s} {batches * size:>8,d} reports ({mean_bytes:.0f} B each) in {elapsed:6.2f} s: "
        f"{rate:8,.0f} reports/s  (x{rate / TARGET:.2f} of the {TARGET:,}/s target)  "
        f"batch p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    print(f"intake benchmark: {os.cpu_count()} CPUs, batches of {args.batch_size}, one client, one uvicorn worker")
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args.batches, args.batch_size)


if __name__ == "__main__":
    main()
