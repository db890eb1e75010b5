"""End to end: text-only events through intake → analysis → rules → routing, and the fast tier alone.

    python bench/pipeline.py                          # 20,000 messages, SQLite and PostgreSQL, 3 runs each
    python bench/pipeline.py --db sqlite --events 5000 --runs 1

Each run starts from a fresh database with the catalogue, the seeded queues and a few realistic
rules (live: scam signals route to Marketplace with priority, hate signals add a label; shadow:
offensive signals, and a text-bank-free keyword rule). The messages are the shipped training
sets' tweets and SMS (varied text, ~85 characters). Two ways, each timed on its own fresh database:

- **together**, as TrustDesk is deployed on one two-core machine: a `trustdesk serve
  --no-worker` process takes the events and `trustdesk worker` processes (one, then two;
  started and idle beforehand, polling every 50 ms) analyse them, evaluate the rules and route
  them at the same time. The worker is the slower stage and runs on one core, so on two cores
  a second worker process is what a team would add. One client POSTs the messages to
  `/api/v1/subjects/batch` in batches of 1,000 (pre-encoded bodies); intake queues one analysis
  job per batch. Timed from the first POST until the workers have finished the last job:
  events/s = events / that time. These are the figures the 5,000 events/s target (SQLite, two
  cores) is read against.
- **one after the other**, to show each stage's own rate: the same POSTs with no worker
  running, then the worker (`run_worker` in this process, with the garbage-collector settings
  `trustdesk worker` uses) drains the jobs: events / (intake + worker) is a lower bound.

The worker scores each batch with the text classifier, stores the signals, evaluates the rules
for every subject with new signals (an evaluation and its hits kept), and a subject a live rule
routes gets a case through an automated report. The fast tier alone scores the same messages
in batches of 1,000 (median of runs); its target is 20,000 messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from servers import SECRET, fresh_postgres, serve, server_env
from sqlalchemy import func, select

from trustdesk.analysis.text.corpus import shipped_training_examples
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.auth.api_clients import create_client
from trustdesk.cli import tune_garbage_collector
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.rules import parse_rule
from trustdesk.domain.vocabulary import Scope
from trustdesk.jobs.registry import KINDS
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


def database(db_kind: str, data_dir: str, name: str) -> str:
    return f"sqlite:///{Path(data_dir) / 'bench.db'}" if db_kind == "sqlite" else fresh_postgres(f"trustdesk_bench_pipeline_{name}")


def post_all(base: str, token: str, encoded: list[bytes]) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, timeout=300, headers=headers) as client:
        for body in encoded:
            client.post("/api/v1/subjects/batch", content=body).raise_for_status()


def jobs_left(db: Database) -> int:
    """Analysis (and other one-off) jobs not yet done; recurring jobs are always queued."""
    with db.reader() as session:
        return session.execute(select(func.count()).select_from(Job).where(
            Job.status.in_(("queued", "running")), Job.singleton_key.is_(None))).scalar_one()


def report(db: Database, number: int) -> None:
    with db.reader() as session:
        count = lambda model: session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
        print(f"    run {number}: {count(Signal):,} signals, {count(RuleEvaluation):,} evaluations, {count(Case):,} cases")


def run_together(db_kind: str, texts: list[str], number: int, workers: int) -> float:
    """One run with intake and `workers` worker processes at once: events/s."""
    with tempfile.TemporaryDirectory() as data_dir:
        url = database(db_kind, data_dir, f"together_{number}")
        token = prepare(url)
        encoded = bodies(texts)
        server, base = serve(url, data_dir)
        running = [subprocess.Popen([sys.executable, "-m", "trustdesk.cli", "worker", "--poll-seconds", "0.05"],
                                    env=server_env(url, data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(workers)]
        db = Database(url)
        try:
            while not _worker_ready(db):  # one has loaded its job kinds and scheduled the recurring ones
                time.sleep(0.05)
            _settled(running)
            started = time.perf_counter()
            post_all(base, token, encoded)
            while jobs_left(db):
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
        finally:
            for process in (server, *running):
                process.terminate()
                process.wait(10)
        report(db, number)
        db.dispose()
    return len(texts) / elapsed


def _settled(processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait until each process has used less than a tenth of a core for half a second: it has
    started and is idle (Linux: CPU time from /proc)."""
    def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    while True:
        before = [cpu_seconds(p) for p in processes]
        time.sleep(0.5)
        if all(cpu_seconds(p) - used < 0.05 for p, used in zip(processes, before)):
            return


def _worker_ready(db: Database) -> bool:
    with db.reader() as session:
        return session.execute(select(func.count()).select_from(Job).where(Job.singleton_key.is_not(None))).scalar_one() > 0


def run_apart(db_kind: str, texts: list[str], number: int) -> tuple[float, float, float]:
    """One run with intake, then the worker: (intake seconds, worker seconds, events/s)."""
    with tempfile.TemporaryDirectory() as data_dir:
        url = database(db_kind, data_dir, f"apart_{number}")
        token = prepare(url)
        encoded = bodies(texts)
        server, base = serve(url, data_dir)
        try:
            started = time.perf_counter()
            post_all(base, token, encoded)
            intake = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(10)
        db = Database(url)
        settings = Settings(data_dir=Path(data_dir), database_url=url, secret_key=SECRET)
        KINDS.load()  # as a running worker has: its start-up is not what is measured
        tune_garbage_collector()
        started = time.perf_counter()
        run_worker(db, settings, worker_id="bench", once=True)
        worker = time.perf_counter() - started
        left = jobs_left(db)
        assert left == 0, f"{left} jobs were not done"
        report(db, number)
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
        for workers in (1, 2):
            together = statistics.median(run_together(kind, texts, n, workers) for n in range(args.runs))
            print(f"{kind:10s} end to end {together:8,.0f} events/s, intake and {workers} worker process{'es' if workers > 1 else ''} "
                  f"together  (x{together / TARGET:.2f} of the {TARGET:,}/s target)")
        apart = [run_apart(kind, texts, n) for n in range(args.runs)]
        intake, worker, rate = (statistics.median(r[i] for r in apart) for i in range(3))
        print(f"{kind:10s} one after the other {rate:8,.0f} events/s: intake alone {len(texts) / intake:,.0f}/s, "
              f"worker alone (analysis, rules, routing) {len(texts) / worker:,.0f}/s")

if __name__ == "__main__":
    main()
