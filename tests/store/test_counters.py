"""The console's maintained counts: every path that moves a case, report or subject keeps them
equal to a fresh count, under concurrency too; `check` finds drift and `repair` mends it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update
from typer.testing import CliRunner

from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit.log import Actor
from trustdesk.auth import staff
from trustdesk.cases import claiming, routing, sla
from trustdesk.cases.access import Reviewer
from trustdesk.cases.listing import queue_overview
from trustdesk.cases.queues import QueueSpec, save_queue, seed_queues
from trustdesk.cli import app as cli
from trustdesk.config import Settings
from trustdesk.enforcement import bulk
from trustdesk.enforcement.decisions import DecisionRequest, decide_case
from trustdesk.ingest.intake import Submitter, create_subjects, file_reports
from trustdesk.ingest.schemas import ReportIn, SubjectIn
from trustdesk.jobs.registry import WorkerContext
from trustdesk.organisation import ensure_app
from trustdesk.policy_versions import seed_catalogue
from trustdesk.store import counters
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.store.models import (
    Case,
    NotifierRecord,
    Queue,
    QueueCounter,
    Report,
    ReportCounter,
    Subject,
    SubjectCounter,
    utcnow,
)

SETUP = Actor("test", "setup")
NO_VIOLATION = DecisionRequest("SPAM", verdict="no_violation", actions=[], rationale="fine")
TAKEDOWN = DecisionRequest("SPAM", verdict="violation", actions=["remove"], rationale="spam")


@dataclass
class Desk:
    db: Database
    settings: Settings
    submitter: Submitter
    mod: Reviewer
    senior: Reviewer

    def subjects(self, *external_ids: str, kind: str = "post") -> dict[str, int]:
        with self.db.session() as s:
            receipts = create_subjects(s, self.submitter, [SubjectIn.model_validate({"external_id": e, "kind": kind}) for e in external_ids])
        return {r.external_id: r.id for r in receipts}

    def report(self, external_id: str, subject: str, policy: str = "SPAM", **extra: Any) -> None:
        body = {"external_id": external_id, "subject_external_id": subject, "policy_code": policy, "reporter_type": "anonymous"} | extra
        with self.db.session() as s:
            file_reports(s, self.submitter, [ReportIn.model_validate(body)])

    def case_of(self, subject_id: int) -> Case:
        with self.db.reader() as s:
            return s.execute(select(Case).where(Case.subject_id == subject_id).order_by(Case.id.desc())).scalars().first()  # type: ignore[return-value]

    def agrees(self) -> None:
        with self.db.reader() as s:
            assert counters.check(s) == []


@pytest.fixture
def desk(db: Database, settings: Settings) -> Desk:
    with db.session() as s:
        seed_catalogue(s, SETUP)
        seed_queues(s, SETUP)
        save_queue(s, SETUP, QueueSpec("Senior review", "false", position=5, required_roles=["senior"]))
        general = s.execute(select(Queue).where(Queue.name == "General")).scalar_one()
        general.escalate_minutes_before_breach = 30
        general.escalation_queue_id = s.execute(select(Queue.id).where(Queue.name == "Senior review")).scalar_one()
        app = ensure_app(s, SETUP, "dating", "Dating")
        users = [staff.create_user(s, SETUP, settings, username=n, password="long enough password", roles=r, with_totp=False)
                 for n, r in (("mod", ["moderator"]), ("sen", ["senior"]))]
        return Desk(db, settings, Submitter(app_id=app.id, actor=SETUP), Reviewer.of(users[0]), Reviewer.of(users[1]))


def _stored(db: Database) -> dict[str, Any]:
    with db.reader() as s:
        return {
            "cases": {(r.queue_id, r.band): (r.open, r.breached) for r in s.execute(select(QueueCounter)).scalars() if r.open or r.breached},
            "reports": {r.policy_code: r.open for r in s.execute(select(ReportCounter)).scalars() if r.open},
            "subjects": {r.kind: r.total for r in s.execute(select(SubjectCounter)).scalars() if r.total},
        }


def test_every_path_that_moves_a_case_report_or_subject_keeps_the_counts(desk: Desk) -> None:
    db = desk.db
    ids = desk.subjects("p1", "p2", "p3", "p4", "p5")
    ids |= desk.subjects("acc", kind="account")
    desk.agrees()
    assert _stored(db)["subjects"] == {"post": 5, "account": 1}

    # Intake opens cases, and a second report joins one (re-scored, re-routed on imminent harm).
    for n, subject in enumerate(("p1", "p2", "p3", "p4")):
        desk.report(f"r{n}", subject)
    desk.report("r-scam", "p5", "SCAM")
    desk.agrees()
    desk.report("r-harm", "p1", imminent_harm=True)
    desk.agrees()
    assert desk.case_of(ids["p1"]).band == "P0"

    # A suspended notifier's report is held back.
    with db.session() as s:
        s.add(NotifierRecord(key=f"account:{ids['acc']}", app_id=desk.submitter.app_id, suspended_until=utcnow() + timedelta(days=1)))
    desk.report("r-held", "p2", reporter_type="user", reporter_external_id="acc")
    with db.reader() as s:
        assert s.execute(select(Report.status).where(Report.external_id == "r-held")).scalar_one() == "held"
    desk.agrees()

    # A reviewer's imminent-harm flag moves band and queue; claims, releases and assignments count nothing.
    with db.session() as s:
        routing.flag_imminent_harm(s, SETUP, desk.mod, desk.case_of(ids["p2"]).id, "threat to meet and hurt")
    desk.agrees()
    with db.session() as s:
        claimed = claiming.next_case(s, desk.mod).case
        assert claimed is not None
        claiming.release(s, desk.mod, claimed.id)
        claiming.assign(s, SETUP, desk.senior, desk.case_of(ids["p1"]).id, desk.senior.id)
    desk.agrees()

    # The SLA sweep records breaches and escalates cases nearing breach.
    with db.session() as s:
        s.execute(update(Case).where(Case.subject_id == ids["p1"]).values(due_at=utcnow() - timedelta(minutes=5)))
        s.execute(update(Case).where(Case.subject_id == ids["p4"]).values(due_at=utcnow() + timedelta(minutes=10)))
    assert (sla.sweep(db).breached, sla.sweep(db).escalated) == (1, 0)  # the second run finds nothing new
    desk.agrees()
    assert desk.case_of(ids["p4"]).escalated_at is not None
    assert sum(breached for _open, breached in _stored(db)["cases"].values()) == 1

    # Deciding the held case (the breached one) closes it and its reports.
    with db.session() as s:
        claimed = claiming.next_case(s, desk.senior).case
        assert claimed is not None and claimed.subject_id == ids["p1"]  # assigned to them: served first
        decide_case(s, desk.senior, Actor("staff", "sen"), claimed.id, NO_VIOLATION)
    desk.agrees()
    assert sum(breached for _open, breached in _stored(db)["cases"].values()) == 0

    # A bulk decision, as the worker runs it, decides subjects directly.
    with db.session() as s:
        op = bulk.start_bulk(s, desk.senior.id, Actor("staff", "sen"), [ids["p4"], ids["p5"]], TAKEDOWN)
    bulk.handle_bulk_decision(WorkerContext(db, desk.settings, FileBlobStore(desk.settings.blob_dir)), bulk.BulkDecision(op.id))
    desk.agrees()
    stored = _stored(db)
    assert stored["reports"] == {"SPAM": 2}  # p2's and p3's; the held one never counted
    assert sum(o for o, _b in stored["cases"].values()) == 2


def test_a_row_deleted_or_changed_and_deleted_through_the_orm_counts_down(desk: Desk) -> None:
    ids = desk.subjects("p1", "p2", "p3")
    with desk.db.session() as s:
        s.delete(s.get_one(Subject, ids["p1"]))
        changed_first = s.get_one(Subject, ids["p2"])
        changed_first.kind = "photo"
        s.flush()
        s.delete(changed_first)
    desk.agrees()
    assert _stored(desk.db)["subjects"] == {"post": 1}


def test_check_names_drift_and_repair_rewrites_the_counts(desk: Desk) -> None:
    desk.subjects("p1", "p2")
    desk.report("r1", "p1")
    with desk.db.session() as s:
        s.execute(update(ReportCounter).values(open=ReportCounter.open + 5))
        s.execute(update(SubjectCounter).where(SubjectCounter.kind == "post").values(total=0))
    with desk.db.reader() as s:
        drifts = counters.check(s)
    assert [(d.table, d.key, d.column, d.stored, d.counted) for d in drifts] == [
        ("report_counters", ("SPAM",), "open", 6, 1),
        ("subject_counters", ("post",), "total", 0, 2),
    ]
    with desk.db.session() as s:
        assert len(counters.repair(s)) == 2
    desk.agrees()
    assert _stored(desk.db)["reports"] == {"SPAM": 1}


def test_the_counters_command_checks_and_repairs(desk: Desk, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("DATABASE_URL", settings.effective_database_url), ("DATA_DIR", str(settings.data_dir)),
                        ("SECRET_KEY", settings.secret_key)):
        monkeypatch.setenv(f"TRUSTDESK_{name}", value)
    desk.subjects("p1")
    runner = CliRunner()
    agreed = runner.invoke(cli, ["db", "counters"])
    assert agreed.exit_code == 0 and "counts agree" in agreed.output
    with desk.db.session() as s:
        s.execute(update(SubjectCounter).values(total=7))
    drift = runner.invoke(cli, ["db", "counters"])
    assert drift.exit_code == 1 and "subject_counters ('post',) total: kept 7, counted 1" in drift.output
    repaired = runner.invoke(cli, ["db", "counters", "--repair"])
    assert repaired.exit_code == 0 and "repaired 1 counts" in repaired.output
    assert runner.invoke(cli, ["db", "counters"]).exit_code == 0


def test_concurrent_intake_decisions_and_sweeps_keep_the_counts_without_deadlock(desk: Desk) -> None:
    if desk.db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; concurrent counter updates are PostgreSQL's")
    db, threads_n, per_thread = desk.db, 8, 12
    ids = desk.subjects(*[f"s{n}" for n in range(threads_n * per_thread)])
    policies = ("SPAM", "SCAM", "HARASSMENT")

    def file(thread: int) -> None:
        # Each thread files reports over every policy, on subjects shared with other threads.
        for n in range(per_thread):
            subject = f"s{(thread * 7 + n * 5) % len(ids)}"
            desk.report(f"t{thread}-{n}", subject, policies[(thread + n) % 3])

    def decide() -> None:
        for _ in range(per_thread):
            with db.session() as s:
                claim = claiming.next_case(s, desk.mod)
                if claim.case is not None:
                    decide_case(s, desk.mod, Actor("staff", "mod"), claim.case.id, DecisionRequest(claim.case.policy_code, verdict="no_violation", actions=[]))
            with db.session() as s:
                s.execute(update(Case).where(Case.status == "open", Case.id % 3 == 0).values(due_at=utcnow() - timedelta(minutes=1)))
            sla.sweep(db)

    together([functools.partial(file, i) for i in range(threads_n)] + [decide])
    desk.agrees()
    with db.reader() as s:
        assert sum(row["open"] for row in queue_overview(s)) > 0


def _open_total(page: str) -> int:
    found = re.search(r'data-testid="open-total">(\d+)<', page)
    assert found
    return int(found.group(1))


def test_the_home_counts_and_queue_list_read_the_counters(api: Api, settings: Settings) -> None:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        staff.create_user(s, SETUP, settings, username="mia", password="long enough password", roles=["moderator"], with_totp=False)
    assert api.post("/api/v1/subjects", {"external_id": "p1", "kind": "post"}).status_code == 201
    assert api.post("/api/v1/reports", {"external_id": "r1", "subject_external_id": "p1", "policy_code": "SPAM",
                                        "reporter_type": "anonymous"}).status_code == 201
    assert api.log_in("mia", "long enough password").status_code == 303
    assert _open_total(api.client.get("/home/counts").text) == 1
    with api.db.session() as s:  # what the page shows is the counter, not a count of the reports
        s.execute(update(ReportCounter).where(ReportCounter.policy_code == "SPAM").values(open=41))
        s.execute(update(QueueCounter).values(open=17))
    assert _open_total(api.client.get("/home/counts").text) == 41
    queues = api.client.get("/queues")
    assert queues.status_code == 200
    general = re.search(r'<tr data-queue="General".*?data-count="open">(\d+)<', queues.text, re.S)
    assert general and general.group(1) == "17"


def test_the_migration_counts_what_is_already_there(empty_url: str) -> None:
    upgrade(empty_url, "0006")
    engine = create_engine(empty_url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO apps (id, slug, name, created_at) VALUES (1, 'dating', 'Dating', :t)"), {"t": now})
        conn.execute(text("INSERT INTO queues (id, name, position, is_default, sla_minutes, required_roles, required_languages, graphic, "
                          "active, created_at, updated_at) VALUES (1, 'General', 1, true, '{}', '[]', '[]', false, true, :t, :t)"), {"t": now})
        for sid, kind in ((1, "post"), (2, "post"), (3, "account")):
            conn.execute(text("INSERT INTO subjects (id, app_id, external_id, kind, visibility, reach, personal, attributes, body_hash, "
                              "received_at, updated_at) VALUES (:id, 1, :ext, :kind, 'visible', '{}', '{}', '{}', 'x', :t, :t)"),
                         {"id": sid, "ext": f"s{sid}", "kind": kind, "t": now})
        for cid, sid, status, band, breached in ((1, 1, "open", "P2", None), (2, 2, "open", "P2", now), (3, 3, "decided", "P1", None)):
            conn.execute(text("INSERT INTO cases (id, app_id, subject_id, queue_id, status, band, priority_score, priority_reasons, "
                              "imminent_harm, report_count, policy_code, routed_by, due_at, breached_at, created_at, updated_at) VALUES "
                              "(:id, 1, :sid, 1, :status, :band, 1.0, '{}', false, 1, 'SPAM', 'test', :t, :b, :t, :t)"),
                         {"id": cid, "sid": sid, "status": status, "band": band, "b": breached, "t": now})
            conn.execute(text("INSERT INTO reports (id, app_id, external_id, subject_id, case_id, policy_code, reporter_type, good_faith, "
                              "imminent_harm, status, body_hash, received_at) VALUES (:id, 1, :ext, :sid, :id, 'SPAM', 'anonymous', false, "
                              "false, :status, 'x', :t)"),
                         {"id": cid, "ext": f"r{cid}", "sid": sid, "status": "open" if status == "open" else "actioned", "t": now})
    engine.dispose()
    upgrade(empty_url)
    db = Database(empty_url)
    try:
        assert _stored(db) == {"cases": {(1, "P2"): (2, 1)}, "reports": {"SPAM": 2}, "subjects": {"post": 2, "account": 1}}
        with db.reader() as s:
            assert counters.check(s) == []
    finally:
        db.dispose()


def test_a_rolled_back_savepoint_takes_back_only_its_own_counts(db: Database) -> None:
    with db.session() as s:
        app_id = ensure_app(s, Actor("system", "test"), "dating", "Dating").id
    with db.session() as s:
        s.add(Subject(app_id=app_id, external_id="before", kind="post", body_hash="h"))
        try:
            with s.begin_nested():
                s.add(Subject(app_id=app_id, external_id="undone", kind="photo", body_hash="h"))
                s.flush()
                raise RuntimeError("the step inside the savepoint failed")
        except RuntimeError:
            pass
        with s.begin_nested():
            s.add(Subject(app_id=app_id, external_id="kept", kind="post", body_hash="h"))
    assert _stored(db)["subjects"] == {"post": 2}
    with db.reader() as s:
        assert counters.check(s) == []
