""""Next case" claim latency with many reviewers claiming at once, and case page render time.

    python bench/claim.py                                  # 100k open cases, both databases
    python bench/claim.py --cases 1000000 --db postgresql  # the 1M target
    python bench/claim.py --http                           # also through HTTP (one uvicorn worker)
    python bench/claim.py --decide                         # each claim follows a decision, no skips

32 reviewer threads run a closed loop without think time: each claims its next case, for
`--seconds`. By default the case it held is handed back, which makes every claim a skip too (a
skip row written, and a reviewer's skipped cases stepped over by later claims): the worst case.
With --decide the held case is closed first, as after a decision, so nothing is skipped.
Latency is one claim transaction, begin to commit, through the service layer
(`trustdesk.cases.claiming.next_case`) and, with --http, as `POST /api/v1/cases/next`. Then the case page is fetched sequentially over HTTP. Targets:
claim p99 < 20 ms on PostgreSQL at 1M open cases (service layer); case page p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from servers import SECRET, fresh_postgres, serve
from sqlalchemy import text, update

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.auth import api_clients, staff
from trustdesk.cases import access, claiming
from trustdesk.cases.queues import QueueSpec, save_queue
from trustdesk.config import Settings
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import Case

THREADS = 32


def _fill(db: Database, cases: int) -> tuple[list[access.Reviewer], list[str]]:
    """One app, three queues, `cases` open cases on as many subjects; reviewers with tokens."""
    actor = Actor("bench", "setup")
    settings = Settings(secret_key=SECRET, relax_totp=True)
    with db.session() as s:
        seed_catalogue(s, actor)
        app = ensure_app(s, actor, "bench", "Bench")
        queues = [save_queue(s, actor, QueueSpec(n, e, is_default=d)) for n, e, d in
                  (("Spam", "policy.code == 'SPAM'", False), ("Scam", "policy.code == 'SCAM'", False), ("General", None, True))]
        users = [staff.create_user(s, actor, settings, username=f"r{i}", password="bench-password-1", roles=["moderator"], with_totp=False)
                 for i in range(THREADS)]
        tokens = [api_clients.create_staff_token(s, actor, u, "bench")[1] for u in users]
        reviewers = [access.Reviewer.of(u) for u in users]
        app_id, queue_ids = app.id, [q.id for q in queues]
    series = "generate_series(1, :n) AS t(value)" if not db.is_sqlite else "(WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < :n) SELECT value FROM g) AS t"
    column = "t.value"
    now = "CURRENT_TIMESTAMP"
    with db.engine.begin() as conn:
        conn.execute(text(
            f"INSERT INTO subjects (app_id, external_id, kind, text, visibility, reach, personal, attributes, body_hash, received_at, updated_at) "
            f"SELECT :app, 's' || {column}, 'message', 'bench message ' || {column}, 'visible', '{{}}', '{{}}', '{{}}', 'x', {now}, {now} FROM {series}"
        ), {"app": app_id, "n": cases})
        due = "CURRENT_TIMESTAMP + (s.id % 4320) * INTERVAL '1 minute'" if not db.is_sqlite else "datetime('now', '+' || (s.id % 4320) || ' minutes')"
        conn.execute(text(
            f"INSERT INTO cases (app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, imminent_harm, report_count, "
            f"policy_code, routed_by, due_at, created_at, updated_at) "
            f"SELECT :app, s.id, CASE s.id % 3 WHEN 0 THEN :q0 WHEN 1 THEN :q1 ELSE :q2 END, 'open', 'P2', (s.id * 7919 % 1000) / 10.0, '{{}}', "
            f"false, 1, 'SPAM', 'bench', {due}, {now}, {now} FROM subjects s WHERE s.app_id = :app"
        ), {"app": app_id, "q0": queue_ids[0], "q1": queue_ids[1], "q2": queue_ids[2]})
        if not db.is_sqlite:
            conn.execute(text("ANALYZE"))
    return reviewers, tokens


def _closed_loop(claim_once, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(index: int) -> None:
        mine = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            claim_once(index)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies)


def _report(label: str, latencies: list[float], seconds: float, target_ms: float | None) -> None:
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    ratio = f"  (p99 x{p99 / target_ms:.2f} of the {target_ms:.0f} ms target)" if target_ms else ""
    print(f"  {label:34s} {len(latencies) / seconds:7,.0f} claims/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms{ratio}")


def run(kind: str, cases: int, seconds: float, http: bool, decide: bool) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{Path(data_dir) / 'bench.db'}" if kind == "sqlite" else fresh_postgres("trustdesk_bench_claim")
        upgrade(url)
        personal_data.configure(SECRET)
        db = Database(url)
        started = time.perf_counter()
        reviewers, tokens = _fill(db, cases)
        mode = "each claim after a decision" if decide else "each claim skips the case held"
        print(f"{kind}: {cases:,} open cases in 3 queues (filled in {time.perf_counter() - started:.0f} s), {THREADS} reviewer threads, {mode}")

        def service_claim(index: int) -> None:
            with db.session() as session:
                if decide:  # done with the case held: nothing goes back to the queue
                    session.execute(update(Case).where(Case.claimed_by == reviewers[index].id).values(status="decided"))
                claiming.next_case(session, reviewers[index])

        _report("service layer", _closed_loop(service_claim, seconds), seconds, 20.0 if kind == "postgresql" else None)
        db.dispose()
        if not http:
            return
        server, base = serve(url, data_dir)
        try:
            clients = [httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=60) for t in tokens]

            def http_claim(index: int) -> None:
                clients[index].post("/api/v1/cases/next").raise_for_status()

            _report("HTTP POST /api/v1/cases/next", _closed_loop(http_claim, seconds), seconds, None)
            case_ids = [clients[0].post("/api/v1/cases/next").json()["case"]["id"] for _ in range(1)]
            page_times = []
            for case_id in range(case_ids[0], case_ids[0] + 200):
                t0 = time.perf_counter()
                clients[0].get(f"/cases/{case_id}").raise_for_status()
                page_times.append(time.perf_counter() - t0)
            page_times.sort()
            p95 = page_times[int(len(page_times) * 0.95) - 1] * 1000
            print(f"  case page (200 sequential GETs)     p50 {statistics.median(page_times) * 1000:6.1f} ms  p95 {p95:6.1f} ms  (x{p95 / 100:.2f} of the 100 ms target)")
            for c in clients:
                c.close()
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--decide", action="store_true", help="close the held case before each claim (no skips)")
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args.cases, args.seconds, args.http, args.decide)


if __name__ == "__main__":
    main()
