"""Action delivery: throughput from the outbox to a local receiver, and the delay from a
decision to its delivery.

    python bench/delivery.py                       # SQLite and PostgreSQL, 3 runs each
    python bench/delivery.py --db sqlite --actions 5000 --runs 5

The receiver is the host-platform sandbox (`trustdesk sandbox host`) in its own process, so it
verifies every signature with the `standardwebhooks` package, as a real receiver would.

- Throughput: `--actions` actions (a warning on each of as many accounts) are written first,
  each with its outbox row; then the sender (`deliver_due`, the worker job's work) runs until
  the outbox is empty: actions/s = actions / time. With `--senders 2` on PostgreSQL two
  senders share the outbox through `FOR UPDATE SKIP LOCKED`.
- Delay: a worker (`run_worker`, as `trustdesk worker` runs it: the delivery job recurs every
  second, the worker polls every second when idle) runs while `--rate` decisions a second are
  made for `--seconds` seconds; the delay is from the action's commit time to the receiver's
  arrival time (one clock: the same machine). p50 and p99.

Each figure is the median of `--runs` runs on a fresh database.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
from servers import SECRET, fresh_postgres
from sqlalchemy import select

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.sender import deliver_due
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.policies import Action
from trustdesk.enforcement.actions import apply_action
from trustdesk.jobs.worker import run_worker
from trustdesk.organisation import ensure_app
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import OutboxMessage, Subject, utcnow

ACTOR = Actor("bench", "delivery")
RECEIVER_SECRET = "whsec_" + base64.b64encode(b"bench receiver secret, 32 bytes!").decode()
PORT = 8931


def start_receiver() -> subprocess.Popen[bytes]:
    receiver = subprocess.Popen(
        [sys.executable, "-m", "trustdesk.cli", "sandbox", "host", "--port", str(PORT), "--endpoint", f"bench={RECEIVER_SECRET}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{PORT}/control/events", params={"endpoint": "bench"})
            return receiver
        except httpx.TransportError:
            time.sleep(0.1)
    receiver.terminate()
    raise RuntimeError("the sandbox did not start")


def received(client: httpx.Client) -> list[dict[str, object]]:
    answer = client.get(f"http://127.0.0.1:{PORT}/control/events", params={"endpoint": "bench"})
    return answer.json()["events"]  # type: ignore[no-any-return]


def fresh(kind: str, data_dir: Path, run: int) -> tuple[Database, Settings, int]:
    url = f"sqlite:///{data_dir / f'bench-{run}.db'}" if kind == "sqlite" else fresh_postgres(f"trustdesk_bench_delivery_{run}")
    upgrade(url)
    personal_data.configure(SECRET)
    settings = Settings(data_dir=data_dir, database_url=url, secret_key=SECRET)
    db = Database(url)
    with db.session() as session:
        app = ensure_app(session, ACTOR, f"bench{run}", "Bench")
        add_endpoint(session, ACTOR, SecretBox(SECRET), app, f"http://127.0.0.1:{PORT}/hooks/bench",
                     production=False, secret=RECEIVER_SECRET)
        return db, settings, app.id


def accounts(db: Database, app_id: int, count: int, prefix: str) -> list[int]:
    with db.session() as session:
        made = [Subject(app_id=app_id, external_id=f"{prefix}{n}", kind="account", body_hash="-") for n in range(count)]
        session.add_all(made)
        session.flush()
        return [s.id for s in made]


def throughput(db: Database, app_id: int, actions: int, senders: int) -> float:
    ids = accounts(db, app_id, actions, "t")
    for start in range(0, actions, 500):
        with db.session() as session:
            for subject_id in ids[start:start + 500]:
                apply_action(session, ACTOR, session.get_one(Subject, subject_id), Action.WARN)
    box = SecretBox(SECRET)
    began = time.perf_counter()
    threads = [threading.Thread(target=deliver_due, args=(db, box), kwargs={"budget_seconds": 3600}) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    with db.reader() as session:
        left = session.execute(select(OutboxMessage.id).where(OutboxMessage.state != "delivered").limit(1)).first()
    assert left is None, "some deliveries did not arrive"
    return actions / elapsed


def delays(db: Database, settings: Settings, app_id: int, rate: float, seconds: float, client: httpx.Client) -> list[float]:
    ids = accounts(db, app_id, int(rate * seconds), "d")
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(db, settings), kwargs={"worker_id": "bench", "stop_event": stop})
    worker.start()
    made: dict[str, datetime] = {}  # webhook-id → when the action committed
    try:
        time.sleep(1.5)  # the worker schedules its recurring jobs
        for subject_id in ids:
            with db.session() as session:
                action = apply_action(session, ACTOR, session.get_one(Subject, subject_id), Action.WARN).action
                session.flush()
                webhook_id = session.execute(select(OutboxMessage.webhook_id).where(OutboxMessage.action_id == action.id)).scalar_one()
            made[webhook_id] = utcnow()
            time.sleep(1 / rate)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            arrived = {str(e["webhook_id"]): e["received_at"] for e in received(client)}
            if set(made) <= set(arrived):
                break
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join()
    return [(datetime.fromisoformat(str(arrived[a])) - made[a]).total_seconds() for a in made]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20.0, help="decisions a second in the delay run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    receiver = start_receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp, httpx.Client() as client:
            for kind in kinds:
                rates, p50s, p99s = [], [], []
                for run in range(args.runs):
                    db, settings, app_id = fresh(kind, Path(tmp), run)
                    rates.append(throughput(db, app_id, args.actions, args.senders if kind == "postgresql" else 1))
                    measured = delays(db, settings, app_id, args.rate, args.seconds, client)
                    p50s.append(pct(measured, 50))
                    p99s.append(pct(measured, 99))
                    db.dispose()
                    print(f"  {kind} run {run + 1}: {rates[-1]:,.0f} actions/s; delay p50 {p50s[-1]:.2f} s, p99 {p99s[-1]:.2f} s", flush=True)
                print(f"{kind}: throughput {statistics.median(rates):,.0f} actions/s (median of {args.runs}); "
                      f"decision → delivery p50 {statistics.median(p50s):.2f} s, p99 {statistics.median(p99s):.2f} s "
                      f"({args.rate:g} decisions/s for {args.seconds:g} s)")
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
