"""End to end: text-only events through intake → analysis → rules → routing, and the fast tier alone.

    python bench/pipeline.py                          # 20,000 messages, SQLite and PostgreSQL, 3 runs each
    python bench/pipeline.py --db sqlite --events 5000 --runs 1

Each run starts from a fresh database with the catalogue, the seeded queues and a few realistic
rules (live: scam signals route to Marketplace with priority, hate signals add a label; shadow:
offensive signals, and a text-bank-free keyword rule). The messages are the shipped training
sets' tweets and SMS (varied text, ~85 characters). Timed:

1. intake: one client POSTs them to `/api/v1/subjects/batch` in batches of 1,000 to a
   `trustdesk serve --no-worker` process (pre-encoded bodies); intake queues one analysis job
   per batch;
2. the worker (`run_worker`, in this process, as `trustdesk worker` runs it) drains those jobs:
   the text classifier scores each batch, signals are stored, the rules are evaluated for every
   subject with new signals (an evaluation and its hits kept), and a subject a live rule routes
   gets a case through an automated report.

events/s = events / (intake + worker), the median of the runs; intake and worker are also shown
apart. The target is 5,000 events/s on SQLite on two cores. The fast tier alone scores the same
messages in batches of 1,000 (median of runs); its target is 20,000 messages/s.
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
from sqlalchemy import func, select

from trustdesk.analysis.text.corpus import shipped_training_examples
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.auth.api_clients import create_client
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.rules import parse_rule
from trustdesk.domain.vocabulary import Scope
from trustdesk.jobs.worker import run_worker
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.rules.versions import save_rule
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import Case, Job, RuleEvaluation, Signal

TARGET, FAST_TARGET = 5000, 20000
BATCH = 1000
ACTOR = Actor("bench", "setup")
RULES = (
    {"name": "scam_signal", "mode": "live", "expression": "signals.exists(g, g.label == 'spam_scam' && g.score > 0.9)",
     "effects": [{"type": "route", "queue": "Marketplace", "priority": 40}]},
    {"name": "hate_signal", "mode": "live", "expression": "signals.exists(g, g.label == 'hate' && g.score > 0.8)",
     "effects": [{"type": "label", "label": "hate"}]},
    {"name": "offensive_watch", "mode": "shadow", "expression": "signals.exists(g, g.label == 'offensive' && g.score > 0.7)",
     "effects": [{"type": "route", "queue": "General", "priority": 10}]},
    {"name": "prize_words", "mode": "shadow", "expression": "subject.text.contains('prize') || subject.text.contains('winner')",
     "effects": [{"type": "label", "label": "prize"}]},
)


def messages(count: int) -> list[str]:
    """`count` varied messages: the shipped sets' texts in a fixed shuffled order, numbered once they run out."""
    texts = [e.text for e in shipped_training_examples() if e.text.strip()]
    random.Random(7).shuffle(texts)  # tweets and SMS mixed, as a platform's messages come
    return [texts[n % len(texts)] + (f" #{n // len(texts)}" if n >= len(texts) else "") for n in range(count)]


def prepare(url: str) -> str:
    """Migrate, seed the catalogue, queues and rules, one app; return an API token."""
    upgrade(url)
    personal_data.configure(SECRET)
    db = Database(url)
    with db.session() as session:
        seed_catalogue(session, ACTOR)
        seed_queues(session, ACTOR)
        for rule in RULES:
            save_rule(session, ACTOR, parse_rule(rule), source="api")
        app = ensure_app(session, ACTOR, "bench", "Bench")
        _client, token = create_client(session, ACTOR, app, "bench-client", list(Scope))
    db.dispose()
    return token


def bodies(texts: list[str]) -> list[bytes]:
    return [
        json.dumps({"items": [{"external_id": f"m{start + i}", "kind": "message", "text": text}
                              for i, text in enumerate(texts[start:start + BATCH])]}).encode()
        for start in range(0, len(texts), BATCH)
    ]


def run(db_kind: str, texts: list[str], number: int) -> tuple[float, float, float]:
    """One run on a fresh database: (intake seconds, worker seconds, events/s)."""
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{Path(data_dir) / 'bench.db'}" if db_kind == "sqlite" else fresh_postgres(f"trustdesk_bench_pipeline_{number}")
        token = prepare(url)
        encoded = bodies(texts)
        server, base = serve(url, data_dir)
        try:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            with httpx.Client(base_url=base, timeout=300, headers=headers) as client:
                started = time.perf_counter()
                for body in encoded:
                    client.post("/api/v1/subjects/batch", content=body).raise_for_status()
                intake = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(10)
        db = Database(url)
        settings = Settings(data_dir=Path(data_dir), database_url=url, secret_key=SECRET)
        started = time.perf_counter()
        run_worker(db, settings, worker_id="bench", once=True)
        worker = time.perf_counter() - started
        with db.reader() as session:
            count = lambda model, *where: session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()  # noqa: E731
            left = count(Job, Job.status.in_(("queued", "running")), Job.singleton_key.is_(None))
            assert left == 0, f"{left} jobs were not done"
            print(f"    run {number}: {count(Signal):,} signals, {count(RuleEvaluation):,} evaluations, {count(Case):,} cases")
        db.dispose()
    return intake, worker, len(texts) / (intake + worker)


def fast_tier(texts: list[str], runs: int) -> tuple[float, float]:
    """Messages/s of the fast tier: wall clock, and per CPU-second of this process (which holds
    still when other work shares the machine)."""
    tier = FastTier.load()
    tier.score(texts[:BATCH])  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, len(texts), BATCH):
            tier.score(texts[start:start + BATCH])
        wall.append(len(texts) / (time.perf_counter() - started))
        cpu.append(len(texts) / (time.process_time() - cpu_started))
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts = messages(args.events)
    print(f"pipeline benchmark: {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), {args.events:,} text-only "
          f"messages, batches of {BATCH:,}, median of {args.runs} runs")
    wall, cpu = fast_tier(texts, max(args.runs, 5))
    print(f"fast tier alone  {wall:10,.0f} messages/s wall clock, {cpu:,.0f} per CPU-second  "
          f"(x{cpu / FAST_TARGET:.2f} of the {FAST_TARGET:,}/s target)")
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        results = [run(kind, texts, n) for n in range(args.runs)]
        intake, worker, rate = (statistics.median(r[i] for r in results) for i in range(3))
        print(f"{kind:10s} end to end {rate:8,.0f} events/s  (x{rate / TARGET:.2f} of the {TARGET:,}/s target)  "
              f"intake {len(texts) / intake:,.0f}/s, worker (analysis, rules, routing) {len(texts) / worker:,.0f}/s")


if __name__ == "__main__":
    main()
