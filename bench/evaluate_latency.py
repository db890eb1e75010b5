"""Synchronous verdicts: latency of `POST /api/v1/evaluate` over real HTTP, with a few rules.

    python bench/evaluate_latency.py                  # SQLite and PostgreSQL, 2,000 checks each
    python bench/evaluate_latency.py --db sqlite --checks 500
    python bench/evaluate_latency.py --db sqlite --checks 1000 --baseline ../trustdesk-7d68504   # and an earlier release

One client sends one check at a time (pre-encoded bodies, a kept-alive `http.client` connection) to a
`trustdesk serve --no-worker` process with the catalogue, the seeded queues and the rules of
`bench/pipeline.py` plus a keyword takedown, so that allows, reviews (a case opened through an
automated report) and blocks (an automated decision with its statement, and the webhook events of
the action and the user's notice in the outbox of the app's endpoint) all occur. Each check is
a new message from the shipped training sets: stored, scored by the fast text classifier (no
embedding model), evaluated and answered. Prints p50 and p99 and the verdicts seen; the target is
p99 under 10 ms. With `--baseline`, a checkout of another release (`git worktree add DIR REV`)
answers the same checks on its own database, the two servers taking turns every 40 checks, and
the ratios of their p50 and p99 are printed: this machine's speed moves within minutes, and only
figures taken in the same minutes compare.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
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
INTERLEAVE = 40  # checks a release answers before the other takes its turn
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


@dataclass
class Release:
    """A release under test: its name, its checkout's `src` (None: the installed code) and what it answered."""

    name: str
    source: str | None = None
    latencies: list[float] = field(default_factory=list)
    by_verdict: dict[str, list[float]] = field(default_factory=lambda: {"allow": [], "review": [], "block": []})


def run(db_kind: str, checks: int, baseline: str | None = None) -> list[Release]:
    """Time `checks` checks against this release's server and, given a checkout of another release,
    against that one's too (same checks, its own database), the two taking turns every
    `INTERLEAVE` checks so that a machine slowing down meanwhile slows both alike."""
    releases = [Release("this release")] + ([Release(f"baseline {baseline}", str(Path(baseline).resolve() / "src"))] if baseline else [])
    encoded = bodies(checks + WARM_UP)
    with tempfile.TemporaryDirectory() as root, ExitStack() as servers:
        started_servers = []
        for n, release in enumerate(releases):
            data_dir = Path(root) / str(n)
            data_dir.mkdir()
            url = f"sqlite:///{data_dir / 'bench.db'}" if db_kind == "sqlite" else fresh_postgres(f"trustdesk_bench_evaluate_{n}")
            token = _prepare_with(release.source, url)
            server, base = serve(url, str(data_dir), release.source)
            servers.callback(_stop, server)
            started_servers.append((base, token))
        posts = [poster(base, token) for base, token in started_servers]  # connected once all are up: an idle one is closed
        for post in posts:
            for body in encoded[:WARM_UP]:
                post(body)
        for start in range(WARM_UP, len(encoded), INTERLEAVE):
            for release, post in zip(releases, posts):
                for body in encoded[start:start + INTERLEAVE]:
                    started = time.perf_counter()
                    answer = post(body)
                    release.latencies.append((time.perf_counter() - started) * 1000)
                    release.by_verdict[json.loads(answer)["verdict"]].append(release.latencies[-1])
    for release in releases:
        p50, p99 = percentiles(release.latencies)
        seen = ", ".join(f"{len(release.by_verdict[v])} {v}" for v in release.by_verdict)
        print(f"{db_kind:10s} {checks:,} checks, {release.name}: p50 {p50:5.1f} ms, p99 {p99:5.1f} ms  (p99 x{p99 / TARGET_P99_MS:.2f} "
              f"of the {TARGET_P99_MS:.0f} ms target)  [{seen}]")
        # A review opens a case and a block makes a decision with its statement and notice: the slow
        # answers, and the ones the p99 falls on when they are more than 1 % of checks.
        print("           by verdict: " + ", ".join(f"{v} p50 {percentiles(found)[0]:.1f} / p99 {percentiles(found)[1]:.1f} ms"
                                                  for v, found in release.by_verdict.items() if found))
    if baseline:
        (p50, p99), (base_p50, base_p99) = percentiles(releases[0].latencies), percentiles(releases[1].latencies)
        print(f"           this release / baseline: p50 x{p50 / base_p50:.2f}, p99 x{p99 / base_p99:.2f}")
    return releases


def _prepare_with(source: str | None, url: str) -> str:
    """`prepare` run by the release's own code (a baseline migrates its database as it knows how); the token."""
    if source is None:
        return prepare(url)
    done = subprocess.run([sys.executable, __file__, "--prepare", url], env=os.environ | {"PYTHONPATH": source},
                          capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(10)


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
    parser.add_argument("--baseline", metavar="CHECKOUT", help="a checkout of another release, timed interleaved with this one")
    parser.add_argument("--prepare", metavar="URL", help=argparse.SUPPRESS)  # a baseline's database, by its own code
    args = parser.parse_args()
    if args.prepare:
        print(prepare(args.prepare))
        return
    print(f"/evaluate latency: {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), one client, one uvicorn worker, "
          f"{len(RULES) + 1} rules")
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args.checks, args.baseline)


if __name__ == "__main__":
    main()
