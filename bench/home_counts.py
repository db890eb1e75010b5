"""The console's polled counts on a large data set: grouping the rows (before) against the
maintained counters (after).

    python bench/home_counts.py                          # 1M reports, SQLite and PostgreSQL
    python bench/home_counts.py --db sqlite --reports 200000

The home page (`/` and its 10-second poll `/home/counts`) shows open reports by policy and
subjects by kind; the queue list shows open, breached and claimed cases per queue. Before,
both grouped every open report, subject and case on each request (the queries are kept below,
as they were); after, they read `queue_counters`, `report_counters` and `subject_counters`.

The data set is synthetic and written straight into the tables, because `trustdesk demo --size
large` takes 5-20 minutes to seed: `--reports` reports (default 1,000,000) on 2.5 reports per
subject, one case per subject (80% open, 1 in 7 open ones breached) in the six starter queues,
70% of reports open. The counters are then filled by `counters.repair` (what the migration
does for an existing database), which is timed too. Each query runs `--runs` times after a
warm-up; the median is printed, with the ratio before/after.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servers import SECRET, fresh_postgres
from sqlalchemy import case as when
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor
from trustdesk.cases.listing import queue_overview
from trustdesk.cases.queues import seed_queues
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store import counters
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import AuditEvent, Case, Policy, Queue, Report, Subject, utcnow
from trustdesk.web.console.views import _counts as home_counts

ACTOR = Actor("bench", "setup")
KINDS = ("account", "post", "message", "photo", "listing")


def home_counts_before(session: Session) -> dict[str, Any]:
    """The home page's counts as they were: every open report and every subject, grouped."""
    by_policy = session.execute(
        select(Report.policy_code, Policy.title, func.count())
        .join(Policy, (Policy.code == Report.policy_code) & Policy.is_current.is_(True))
        .where(Report.status == "open")
        .group_by(Report.policy_code, Policy.title)
        .order_by(func.count().desc())
    ).all()
    subjects = session.execute(select(Subject.kind, func.count()).group_by(Subject.kind).order_by(Subject.kind)).all()
    recent = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(15)).scalars().all()
    return {"open_by_policy": by_policy, "subjects_by_kind": subjects, "recent": recent}


def queue_overview_before(session: Session) -> list[dict[str, Any]]:
    """The queue list's counts as they were: every open case, grouped."""
    now = utcnow()
    rows = session.execute(
        select(Case.queue_id, func.count(), func.sum(when((Case.due_at < now, 1), else_=0)),
               func.sum(when((Case.lease_until > now, 1), else_=0)))
        .where(Case.status == "open").group_by(Case.queue_id)
    ).all()
    counts = {r[0]: r[1:] for r in rows}
    return [{"queue": q, "counts": counts.get(q.id)} for q in session.execute(select(Queue).order_by(Queue.position)).scalars()]


def _series(db: Database) -> str:
    if db.is_sqlite:
        return "(WITH RECURSIVE g(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM g WHERE value < :n) SELECT value FROM g) AS t"
    return "generate_series(1, :n) AS t(value)"


def _pick(column: str, values: list[Any]) -> str:
    """A CASE expression choosing one of `values` by `column` modulo their number (constants only)."""
    arms = " ".join(f"WHEN {i} THEN {v!r}" if isinstance(v, int) else f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE {column} % {len(values)} {arms} END"


def fill(db: Database, reports: int) -> int:
    """The synthetic data set; returns the number of subjects."""
    with db.session() as s:
        seed_catalogue(s, ACTOR)
        seed_queues(s, ACTOR)
        app_id = ensure_app(s, ACTOR, "bench", "Bench").id
        queue_ids = list(s.execute(select(Queue.id).order_by(Queue.id)).scalars())
        codes = list(s.execute(select(Policy.code).where(Policy.is_current.is_(True)).order_by(Policy.code)).scalars())
    subjects = int(reports / 2.5)
    now = "CURRENT_TIMESTAMP"
    due = "datetime('now', (t.value % 4320 - 600) || ' minutes')" if db.is_sqlite else \
        "CURRENT_TIMESTAMP + (t.value % 4320 - 600) * INTERVAL '1 minute'"
    with db.engine.begin() as conn:
        conn.execute(text(
            f"INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, received_at, updated_at) "
            f"SELECT t.value, :app, 's' || t.value, {_pick('t.value', list(KINDS))}, 'visible', '{{}}', '{{}}', '{{}}', 'x', {now}, {now} "
            f"FROM {_series(db)}"
        ), {"app": app_id, "n": subjects})
        conn.execute(text(
            f"INSERT INTO cases (id, app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, imminent_harm, "
            f"report_count, policy_code, routed_by, due_at, breached_at, created_at, updated_at) "
            f"SELECT t.value, :app, t.value, {_pick('t.value', queue_ids)}, CASE WHEN t.value % 5 = 0 THEN 'decided' ELSE 'open' END, "
            f"{_pick('t.value', ['P0', 'P1', 'P2', 'P3'])}, (t.value % 1000) / 10.0, '{{}}', false, 2, "
            f"{_pick('t.value', codes)}, 'bench', {due}, CASE WHEN t.value % 7 = 0 AND t.value % 5 <> 0 THEN {now} END, {now}, {now} "
            f"FROM {_series(db)}"
        ), {"app": app_id, "n": subjects})
        conn.execute(text(
            f"INSERT INTO reports (id, app_id, external_id, subject_id, case_id, policy_code, reporter_type, good_faith, imminent_harm, "
            f"status, body_hash, received_at) "
            f"SELECT t.value, :app, 'r' || t.value, (t.value - 1) % :subjects + 1, (t.value - 1) % :subjects + 1, "
            f"{_pick('(t.value * 7)', codes)}, 'anonymous', false, false, CASE WHEN t.value % 10 < 7 THEN 'open' ELSE 'actioned' END, "
            f"'x', {now} FROM {_series(db)}"
        ), {"app": app_id, "n": reports, "subjects": subjects})
        conn.execute(text("ANALYZE"))
    return subjects


def median_ms(work: Callable[[Session], object], db: Database, runs: int) -> float:
    times = []
    for _ in range(runs + 1):  # the first is a warm-up
        with db.reader() as session:
            started = time.perf_counter()
            work(session)
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:]) * 1000


def run(kind: str, reports: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite:///{Path(data_dir) / 'bench.db'}" if kind == "sqlite" else fresh_postgres("trustdesk_bench_home_counts")
        upgrade(url)
        personal_data.configure(SECRET)
        db = Database(url)
        started = time.perf_counter()
        subjects = fill(db, reports)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        with db.session() as session:
            counters.repair(session)
        recounted = time.perf_counter() - started
        with db.reader() as session:
            assert counters.check(session) == [], "the counters disagree with the tables"
            before, after = home_counts_before(session), home_counts(session)
            assert sorted(map(tuple, before["open_by_policy"])) == sorted(map(tuple, after["open_by_policy"]))
            assert list(map(tuple, before["subjects_by_kind"])) == list(map(tuple, after["subjects_by_kind"]))
        print(f"{kind}: {reports:,} reports, {subjects:,} subjects and cases (filled in {filled:.0f} s; "
              f"counters recounted in {recounted:.1f} s), median of {runs} runs")
        for label, old, new in (
            ("home counts (/home/counts)", home_counts_before, home_counts),
            ("queue list counts (/queues)", queue_overview_before, queue_overview),
        ):
            was, now = median_ms(old, db, runs), median_ms(new, db, runs)
            print(f"  {label:28s} before {was:9.1f} ms   after {now:7.2f} ms   x{was / now:,.0f} faster")
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args.reports, args.runs)


if __name__ == "__main__":
    main()
