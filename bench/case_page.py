"""Case page render time on the large demo data: sequential GETs of /cases/{id} over HTTP.

    python bench/case_page.py                         # seeds `trustdesk demo --size large` first (minutes)
    python bench/case_page.py --data-dir var/large    # reuse (or create) a data dir
    python bench/case_page.py --size small            # quick run on the small demo

A moderator logs in through the form; the pages of 300 random open cases they may see are
fetched one after another (the first 20 are a warm-up). Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from servers import SECRET, serve
from sqlalchemy import create_engine, text

TARGET_MS = 100.0


def _cli(data_dir: str, *args: str) -> None:
    env = os.environ | {"TRUSTDESK_DATA_DIR": data_dir, "TRUSTDESK_SECRET_KEY": SECRET, "TRUSTDESK_RELAX_TOTP": "1"}
    subprocess.run([sys.executable, "-m", "trustdesk.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL)


def run(data_dir: str, size: str, pages: int) -> None:
    db_file = Path(data_dir) / "trustdesk.db"
    if not db_file.exists():
        started = time.perf_counter()
        _cli(data_dir, "db", "upgrade")
        _cli(data_dir, "demo", "--size", size)
        print(f"seeded the {size} demo in {time.perf_counter() - started:.0f} s")
    url = f"sqlite:///{db_file.resolve()}"
    engine = create_engine(url)
    with engine.connect() as conn:
        reports = conn.execute(text("SELECT count(*) FROM reports")).scalar_one()
        # Cases a moderator may open: need-to-know keeps role-restricted queues from them.
        ids = [r[0] for r in conn.execute(text(
            "SELECT c.id FROM cases c JOIN queues q ON q.id = c.queue_id WHERE c.status = 'open' AND q.required_roles = '[]'"
        ))]
    engine.dispose()
    rng = random.Random(11)
    sample = rng.sample(ids, min(len(ids), pages + 20))
    os.environ["TRUSTDESK_RELAX_TOTP"] = "1"
    server, base = serve(url, data_dir)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            form = client.get("/login").text
            csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            login = client.post("/login", data={"username": "moderator", "password": "demo-moderator-pass", "csrf_token": csrf})
            if login.status_code != 303:
                raise RuntimeError(f"login failed: {login.status_code}")
            times = []
            for case_id in sample:
                t0 = time.perf_counter()
                client.get(f"/cases/{case_id}").raise_for_status()
                times.append(time.perf_counter() - t0)
    finally:
        server.terminate()
        server.wait(10)
    measured = sorted(times[20:])
    p95 = measured[int(len(measured) * 0.95) - 1] * 1000
    print(
        f"case page on {reports:,} reports / {len(ids):,} open cases (SQLite): {len(measured)} sequential GETs, "
        f"p50 {statistics.median(measured) * 1000:.1f} ms, p95 {p95:.1f} ms (x{p95 / TARGET_MS:.2f} of the {TARGET_MS:.0f} ms target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="Keep the seeded data here (default: a temporary directory).")
    parser.add_argument("--size", choices=("small", "large"), default="large")
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    if args.data_dir:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        run(args.data_dir, args.size, args.pages)
    else:
        with tempfile.TemporaryDirectory() as data_dir:
            run(data_dir, args.size, args.pages)


if __name__ == "__main__":
    main()
