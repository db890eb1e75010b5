"""Hosts started together each run `trustdesk db upgrade` on the same new database: they take
turns, so every one succeeds and the schema and the starter rows are made once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET
from tests.store.raw_rows import rows

HOSTS = 3


def test_upgrades_started_together_all_succeed_and_seed_once(empty_url: str, tmp_path: Path) -> None:
    env = os.environ | {"TRUSTDESK_DATABASE_URL": empty_url, "TRUSTDESK_SECRET_KEY": TEST_SECRET}
    hosts = [subprocess.Popen([sys.executable, "-m", "trustdesk.cli", "db", "upgrade"], env=env | {"TRUSTDESK_DATA_DIR": str(tmp_path / str(n))},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(HOSTS)]
    outputs = [host.communicate(timeout=300)[0] for host in hosts]
    assert [host.returncode for host in hosts] == [0] * HOSTS, outputs
    added = sorted(" ".join(out.split()).split("catalogue policies, ")[1].split(" starter queues")[0] for out in outputs)
    assert added == ["0", "0", "14"], outputs
    assert rows(empty_url, "SELECT count(*) FROM queues") == [(14,)]
    assert rows(empty_url, "SELECT count(*) FROM audit_events WHERE verb = 'queue.saved'") == [(14,)]
