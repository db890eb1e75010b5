"""Synchronous verdicts: latency of `POST /api/v1/evaluate` over real HTTP, with a few rules.

    python bench/evaluate_latency.py                  # SQLite and PostgreSQL, 2,000 checks each
    python bench/evaluate_latency.py --db sqlite --checks 500

One client sends one check at a time (pre-encoded bodies, a kept-alive `http.client` connection) to a
`trustdesk serve --no-worker` process with the catalogue, the seeded queues and the rules of
`bench/pipeline.py` plus a keyword takedown, so that allows, reviews (a case opened through an
automated report) and blocks (an automated decision with its statement, and the webhook events of
the action and the user's notice in the outbox of the app's endpoint) all occur. Each check is
a new message from the shipped training sets: stored, scored by the fast text classifier (no
embedding model), evaluated and answered. Prints p50 and p99 and the verdicts seen; the target is
p99 under 10 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import ACTOR, RULES, messages
from servers import SECRET, fresh_postgres, serve

from trustdesk.audit import personal_data
from trustdesk.auth.api_clients import create_client
from trustdesk.cases.queues import seed_queues
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.rules import parse_rule
from trustdesk.domain.vocabulary import Scope
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.rules.versions import save_rule
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade

TARGET_P99_MS = 10.0
WARM_UP = 50
TAKEDOWN = {"name": "parcel_fee_takedown", "mode": "live",
            "expression": "subject.text.contains('bitcoin') && subject.text.contains('fee')",
            "effects": [{"type": "action", "policy": "SPAM", "actions": ["remove"]}]}


def prepare(url: str) -> str:
    upgrade(url)
    personal_data.configure(SECRET)
    db = Database(url)
    with db.session() as session:
        seed_catalogue(session, ACTOR)
        seed_queues(session, ACTOR)
        for rule in (*RULES, TAKEDOWN):
            save_rule(session, ACTOR, parse_rule(rule), source="api")
        app = ensure_app(session, ACTOR, "bench", "Bench")
        _client, token = create_client(session, ACTOR, app, "bench-client", list(Scope))
        # The host platform's receiver: a block queues its webhook events (the action, the
        # user's notice) in the outbox, as in production; nothing delivers them here.
        add_endpoint(session, ACTOR, SecretBox(SECRET), app, "http://127.0.0.1:9/hooks", production=False)
    db.dispose()
    return token


def bodies(count: int) -> list[bytes]:
    texts = messages(count)
    for n in range(0, count, 20):  # one in twenty is taken down
        texts[n] = f"pay the parcel fee in bitcoin today {n}"
    return [json.dumps({"external_id": f"e{n}", "kind": "message", "text": text,
                        "context": {"source": "pre_publication"}}).encode() for n, text in enumerate(texts)]


def run(db_kind: str, checks: int) -> list[float]:
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{Path(data_dir) / 'bench.db'}" if db_kind == "sqlite" else fresh_postgres("trustdesk_bench_evaluate")
        token = prepare(url)
        encoded = bodies(checks + WARM_UP)
        server, base = serve(url, data_dir)
        by_verdict: dict[str, list[float]] = {"allow": [], "review": [], "block": []}
        try:
            post = poster(base, token)
            for body in encoded[:WARM_UP]:
                post(body)
            latencies = []
            for body in encoded[WARM_UP:]:
                started = time.perf_counter()
                answer = post(body)
                latencies.append((time.perf_counter() - started) * 1000)
                by_verdict[json.loads(answer)["verdict"]].append(latencies[-1])
        finally:
            server.terminate()
            server.wait(10)
    p50, p99 = percentiles(latencies)
    seen = ", ".join(f"{len(by_verdict[v])} {v}" for v in by_verdict)
    print(f"{db_kind:10s} {checks:,} checks: p50 {p50:5.1f} ms, p99 {p99:5.1f} ms  (p99 x{p99 / TARGET_P99_MS:.2f} of the "
          f"{TARGET_P99_MS:.0f} ms target)  [{seen}]")
    # A review opens a case and a block makes a decision with its statement and notice: the slow
    # answers, and the ones the p99 falls on when they are more than 1 % of checks.
    print("           by verdict: " + ", ".join(
        f"{v} p50 {percentiles(found)[0]:.1f} / p99 {percentiles(found)[1]:.1f} ms" for v, found in by_verdict.items() if found))
    return latencies


def poster(base: str, token: str) -> Callable[[bytes], bytes]:
    """POST a check on one kept-alive connection; the answer's body. The standard library's client
    is the lightest, so that the time measured is the server's (httpx adds about 0.5 ms a request)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(body: bytes) -> bytes:
        connection.request("POST", "/api/v1/evaluate", body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"/evaluate answered {answer.status}: {content[:300]!r}")
        return content

    return post


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.99) - 1, 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--checks", type=int, default=2000)
    args = parser.parse_args()
    print(f"/evaluate latency: {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), one client, one uvicorn worker, "
          f"{len(RULES) + 1} rules")
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args.checks)


if __name__ == "__main__":
    main()
