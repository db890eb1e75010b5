"""A CyberTipline report built from a real child-safety case and filed by the worker with the
sandbox, on both databases: the facts it carries, one filing per draft however many submits
arrive together, the filing state kept after each step, NCMEC's refusal codes kept on the
report, resuming a filing that stopped half way (refused, or its worker died) without a second
report, retraction, the hold that filing places, and who may build one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select, update

from tests.command_line import run_command
from tests.concurrency import together
from tests.ncmec.sandbox import Tipline
from tests.web.office import SETUP, Office
from trustdesk.audit.log import Actor
from trustdesk.cases.access import Reviewer
from trustdesk.config import Settings
from trustdesk.demo.images import CONTENT_TYPE, render_photo
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject
from trustdesk.enforcement.suspensions import lift_due
from trustdesk.jobs.queue import claim
from trustdesk.jobs.worker import run_worker
from trustdesk.ncmec import reports
from trustdesk.ncmec.client import CyberTiplineClient
from trustdesk.ncmec.tipline import xml_time
from trustdesk.store.models import (
    AuditEvent,
    Blob,
    Case,
    CaseSubject,
    Decision,
    EnforcementAction,
    HoldSubject,
    Job,
    LegalHold,
    NcmecReport,
    Queue,
    Subject,
    utcnow,
)

CARA = Actor("staff", "cara")


def _child_safety_case(office: Office, external_id: str = "photo-9", policy: str = "CSAM") -> tuple[int, int]:
    """A photo with media, owned by an account with a profile and account events, reported under
    `policy`; the case id and the media item id."""
    r = office.api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc-9", "kind": "account", "title": "sunny", "url": "https://dating.example/u/acc-9",
         "personal": {"display_name": "Sunny D", "email": "sunny@example.org"}},
        {"external_id": external_id, "kind": "photo", "account_external_id": "acc-9", "created_at": "2026-11-30T21:15:07Z"},
    ]})
    assert r.status_code == 200, r.text
    media = office.api.client.post(f"/api/v1/subjects/{external_id}/media", files={"file": ("p.jpg", render_photo(3), CONTENT_TYPE)},
                                   headers=office.api.auth)
    assert media.status_code == 200, media.text
    r = office.api.post("/api/v1/account-events/batch", {"items": [
        {"external_id": "ev-1", "account_external_id": "acc-9", "kind": "registration", "occurred_at": "2026-10-01T08:00:00Z",
         "ip": "198.51.100.7", "device_id": "dev-42"},
        {"external_id": "ev-2", "account_external_id": "acc-9", "kind": "login", "occurred_at": "2026-11-30T21:00:00Z", "ip": "203.0.113.9"},
    ]})
    assert r.status_code == 200, r.text
    r = office.api.post("/api/v1/reports", {"external_id": f"r-{external_id}", "subject_external_id": external_id,
                                            "policy_code": policy, "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with office.api.db.reader() as s:
        subject_id = s.execute(select(Subject.id).where(Subject.external_id == external_id)).scalar_one()
        case_id = s.execute(select(Case.id).where(Case.subject_id == subject_id)).scalar_one()
    return case_id, media.json()["media"][0]["id"]


def _cara(office: Office) -> Reviewer:
    return Reviewer(office.users["cara"], ("child-safety",))


def _build(office: Office, case_id: int, tipline: Tipline) -> reports.Built:
    with office.api.db.session() as s:
        built = reports.build(s, CARA, _cara(office), case_id, tipline.settings())
        s.flush()
        s.expunge(built.report)
    return built


def _confirm(office: Office, case_id: int) -> Decision:
    with office.api.db.session() as s:
        case = s.get_one(Case, case_id)
        decision = decide_subject(s, SETUP, case.subject_id, DecisionRequest(
            "CSAM", verdict="violation", actions=["remove", "ban"], rationale="a child in a sexual pose"))
        s.flush()
        s.expunge(decision)
    return decision


def test_a_report_carries_the_case_facts_and_validates(office: Office, tipline: Tipline) -> None:
    case_id, item_id = _child_safety_case(office)
    office.log_in("cara")
    with office.api.db.reader() as s:
        subject_id = s.get_one(Case, case_id).subject_id
    assert office.api.client.get(f"/subjects/{subject_id}/media/{item_id}").status_code == 200  # cara looks at it

    draft = _build(office, case_id, tipline)
    assert draft.problems == []
    root = etree.fromstring(draft.report.xml.encode())
    assert root.findtext("incidentSummary/incidentType") == "Child Pornography (possession, manufacture, and distribution)"
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-11-30T21:15:07Z"
    user = root.find("personOrUserReported")
    assert [user.findtext(t) for t in ("espIdentifier", "screenName", "displayName", "profileUrl")] == [
        "acc-9", "sunny", "Sunny D", "https://dating.example/u/acc-9"]
    assert [(e.findtext("ipAddress"), e.findtext("eventName")) for e in user.findall("ipCaptureEvent")] == [
        ("203.0.113.9", "Login"), ("198.51.100.7", "Registration")]
    assert [d.findtext("idValue") for d in user.findall("deviceId")] == ["dev-42"]
    assert user.find("accountPermanentlyDisabled") is None and draft.report.due_at is None  # not confirmed yet
    with office.api.db.reader() as s:
        blob = s.execute(select(Blob)).scalar_one()
    [file] = draft.report.files
    assert (file["media_item_id"], file["sha256"], file["md5"], file["viewed_by_staff"]) == (item_id, blob.sha256, blob.md5, True)

    decision = _confirm(office, case_id)
    confirmed = _build(office, case_id, tipline)
    assert confirmed.report.id == draft.report.id and confirmed.problems == []
    assert etree.fromstring(confirmed.report.xml.encode()).findtext("personOrUserReported/accountPermanentlyDisabled") == "true"
    assert "Reviewer's finding: a child in a sexual pose" in etree.fromstring(confirmed.report.xml.encode()).findtext("additionalInfo")
    assert confirmed.report.due_at == decision.created_at + timedelta(hours=24)


def test_a_suspension_that_ran_out_is_still_reported_with_when_it_ended(office: Office, tipline: Tipline) -> None:
    case_id, _item_id = _child_safety_case(office)
    with office.api.db.session() as s:
        account_id = s.execute(select(Subject.id).where(Subject.external_id == "acc-9")).scalar_one()
        suspended = decide_subject(s, SETUP, account_id, DecisionRequest(
            "HARASSMENT", verdict="violation", actions=["suspend"], params={"days": 3}, rationale="threats"))
        action = s.execute(select(EnforcementAction).where(EnforcementAction.decision_id == suspended.id)).scalar_one()
        ends_at = action.ends_at
    assert lift_due(office.api.db, now=ends_at + timedelta(minutes=1)) == 1

    disabled = etree.fromstring(_build(office, case_id, tipline).report.xml.encode()).find("personOrUserReported/accountTemporarilyDisabled")
    assert disabled is not None and disabled.get("reenabledDate") == xml_time(ends_at)


def _queue(office: Office, case_id: int) -> NcmecReport:
    with office.api.db.session() as s:
        report = reports.queue_submission(s, CARA, _cara(office), case_id)
        s.flush()
        s.expunge(report)
    return report


def _work(office: Office, tipline: Tipline, **ncmec: str) -> None:
    """Run the worker until no job is due, filing with the test's sandbox."""
    settings = dataclasses.replace(office.settings, ncmec=dataclasses.replace(tipline.settings(), **ncmec))
    run_worker(office.api.db, settings, worker_id="w", once=True)


def _filing_jobs(office: Office) -> list[tuple[str, int]]:
    with office.api.db.reader() as s:
        return [tuple(row) for row in s.execute(select(Job.status, Job.attempts).where(Job.kind == reports.SUBMIT_JOB).order_by(Job.id))]


def _report(office: Office) -> NcmecReport:
    with office.api.db.reader() as s:
        report = s.execute(select(NcmecReport)).scalar_one()
        s.expunge(report)
    return report


def _quick_retries(monkeypatch: pytest.MonkeyPatch, tipline: Tipline) -> None:
    """The worker's client tries twice and records its pauses instead of sleeping."""
    monkeypatch.setattr(reports, "client_for", lambda _settings: tipline.client(attempts=2))


def test_the_worker_files_a_queued_report_through_every_step_and_places_the_years_evidence_hold(
    office: Office, tipline: Tipline,
) -> None:
    case_id, _item = _child_safety_case(office)
    _confirm(office, case_id)
    _build(office, case_id, tipline)
    assert _queue(office, case_id).state == "queued" and tipline.state.reports == {}  # nothing sent in the request
    _work(office, tipline)
    filed = _report(office)
    assert (filed.state, filed.errors) == ("finished", [])
    with office.api.db.reader() as s:
        hold = s.get_one(LegalHold, filed.hold_id)
        held_subjects = set(s.execute(select(HoldSubject.subject_id).where(HoldSubject.hold_id == hold.id, HoldSubject.named)).scalars())
        case_subjects = set(s.execute(select(CaseSubject.subject_id).where(CaseSubject.case_id == case_id)).scalars())
    assert _filing_jobs(office) == [("done", 1)]
    assert (hold.basis, hold.reference, hold.released_at) == ("ncmec_report", f"NCMEC {filed.report_id}", None)
    assert held_subjects == case_subjects and filed.hold_until == hold.expires_at
    assert hold.expires_at.date() == filed.submitted_at.date().replace(year=filed.submitted_at.year + 1)
    held = tipline.held(filed.report_id)
    assert (held["state"], held["xml"]) == ("finished", filed.xml)
    [file] = filed.files
    [sent] = held["files"]
    assert (file["file_id"], file["ncmec_md5"], file["described"]) == (sent["file_id"], file["md5"], True)
    assert sent["md5"] == file["md5"] and sent["details"] is not None
    with office.api.db.reader() as s:
        events = s.execute(select(AuditEvent.verb, AuditEvent.actor_id).where(AuditEvent.object_type == "ncmec_report")
                           .order_by(AuditEvent.id)).all()
    assert [verb for verb, _by in events] == [
        "ncmec_report.built", "ncmec_report.queued", "ncmec_report.submitted", "ncmec_report.hold_placed", "ncmec_report.finished"]
    assert {by for _verb, by in events} == {"cara"}  # the worker files in the name of whoever submitted
    with pytest.raises(Conflict, match="finished: there is nothing to submit"), office.api.db.session() as s:
        reports.queue_submission(s, CARA, _cara(office), case_id)
    with pytest.raises(Conflict), office.api.db.session() as s:  # a filed report is not rebuilt
        reports.build(s, CARA, _cara(office), case_id, tipline.settings())


def test_a_second_submit_of_a_queued_report_is_refused(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    _queue(office, case_id)
    with pytest.raises(Conflict, match="already being submitted"), office.api.db.session() as s:
        reports.queue_submission(s, CARA, _cara(office), case_id)
    assert _filing_jobs(office) == [("queued", 0)]


def test_submits_sent_together_file_one_report(office: Office, tipline: Tipline) -> None:
    if office.api.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    queued: list[str] = []
    refused: list[str] = []

    def submit() -> None:
        try:
            queued.append(_queue(office, case_id).state)
        except Conflict as exc:
            refused.append(str(exc))

    together([submit] * 6)
    assert queued == ["queued"] and len(refused) == 5 and all("already being submitted" in r for r in refused)
    assert _filing_jobs(office) == [("queued", 0)]
    _work(office, tipline)
    assert len(tipline.state.reports) == 1 and _report(office).state == "finished"


def test_a_refusal_keeps_ncmecs_code_on_the_failed_report_and_staff_submit_again(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    _queue(office, case_id)
    _work(office, tipline, password="not the password")
    failed = _report(office)
    assert (failed.state, failed.report_id) == ("failed", None)
    assert [(e["step"], e["code"], e["description"]) for e in failed.errors] == [("submit", 3000, "Not authorized")]
    assert _filing_jobs(office) == [("done", 1)]  # a refusal is for staff to look into, not retried
    assert tipline.state.reports == {}
    assert _queue(office, case_id).state == "queued"
    _work(office, tipline)
    assert _report(office).state == "finished" and len(tipline.state.reports) == 1


def test_a_filing_stopped_half_way_resumes_without_a_second_report(office: Office, tipline: Tipline, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    _quick_retries(monkeypatch, tipline)
    original_upload = CyberTiplineClient.upload

    def failing_upload(self: CyberTiplineClient, *args: object) -> object:  # submit gets through, then every upload attempt fails
        tipline.fail(1110, 2)
        return original_upload(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(CyberTiplineClient, "upload", failing_upload)
    _queue(office, case_id)
    _work(office, tipline)
    stopped = _report(office)
    assert (stopped.state, stopped.files[0]["file_id"]) == ("failed", None)
    assert [(e["step"], e["code"]) for e in stopped.errors] == [("upload", 1110)]
    assert stopped.report_id is not None and stopped.hold_until is not None  # NCMEC holds it: the hold is due already
    monkeypatch.setattr(CyberTiplineClient, "upload", original_upload)
    _queue(office, case_id)
    _work(office, tipline)
    filed = _report(office)
    assert (filed.state, filed.report_id) == ("finished", stopped.report_id)
    assert list(tipline.state.reports) == [stopped.report_id]
    assert len(tipline.held(stopped.report_id)["files"]) == 1


def test_a_submission_whose_answer_was_never_recorded_is_not_sent_again_until_staff_say_so(
    office: Office, tipline: Tipline, monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    _quick_retries(monkeypatch, tipline)
    working = CyberTiplineClient.submit

    def submitted_then_died(self: CyberTiplineClient, *args: object) -> object:  # NCMEC opened it; the worker died before noting it
        working(self, *args)  # type: ignore[arg-type]
        raise SystemError("killed on the way back")

    monkeypatch.setattr(CyberTiplineClient, "submit", submitted_then_died)
    _queue(office, case_id)
    _work(office, tipline)
    monkeypatch.setattr(CyberTiplineClient, "submit", working)
    with office.api.db.session() as s:  # the job's retry is due at once
        s.execute(update(Job).where(Job.kind == reports.SUBMIT_JOB).values(run_at=utcnow()))
    _work(office, tipline)
    held_back = _report(office)
    assert (held_back.state, held_back.report_id) == ("failed", None)
    assert "NCMEC may hold a report of this case already" in held_back.errors[-1]["description"]
    assert len(tipline.state.reports) == 1  # one report at NCMEC, not two

    _queue(office, case_id)  # staff checked with NCMEC and submit again
    _work(office, tipline)
    assert _report(office).state == "finished" and len(tipline.state.reports) == 2


def _crashing_uploads(monkeypatch: pytest.MonkeyPatch, error: str) -> Callable[[], None]:
    """Make every file upload raise `error` (not an NCMEC refusal); call the answer to undo it."""
    working = CyberTiplineClient.upload

    def crash(self: CyberTiplineClient, *args: object) -> object:
        raise SystemError(error)

    monkeypatch.setattr(CyberTiplineClient, "upload", crash)
    return lambda: monkeypatch.setattr(CyberTiplineClient, "upload", working)


def test_a_worker_that_dies_mid_filing_is_resumed_by_the_jobs_retry_from_the_stored_report_id(
    office: Office, tipline: Tipline, monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    repaired = _crashing_uploads(monkeypatch, "the worker died")
    _queue(office, case_id)
    _work(office, tipline)
    crashed = _report(office)
    [report_id] = tipline.state.reports
    assert (crashed.state, crashed.report_id, crashed.errors) == ("submitting", report_id, [])
    with office.api.db.session() as s:
        job = s.execute(select(Job).where(Job.kind == reports.SUBMIT_JOB)).scalar_one()
        assert (job.status, job.attempts) == ("queued", 1) and "the worker died" in job.last_error
        job.run_at = utcnow()  # the retry is due
    repaired()
    _work(office, tipline)
    filed = _report(office)
    assert (filed.state, filed.report_id) == ("finished", report_id) and list(tipline.state.reports) == [report_id]
    assert tipline.held(report_id)["state"] == "finished"
    with office.api.db.reader() as s:
        submitted = s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.verb == "ncmec_report.submitted")).scalar_one()
        holds = s.execute(select(func.count()).select_from(LegalHold)).scalar_one()
    assert (submitted, holds) == (1, 1)


def test_a_hold_that_fails_to_be_placed_is_placed_by_the_retry_without_a_second_report(
    office: Office, tipline: Tipline, monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    placing = reports.on_report_submitted

    def lock_timeout(*_args: object) -> None:
        raise SystemError("lock timeout placing the hold")

    monkeypatch.setattr(reports, "on_report_submitted", lock_timeout)
    _queue(office, case_id)
    _work(office, tipline)
    [report_id] = tipline.state.reports
    stopped = _report(office)
    assert (stopped.state, stopped.report_id, stopped.hold_id) == ("submitting", report_id, None)  # NCMEC's id is kept
    monkeypatch.setattr(reports, "on_report_submitted", placing)
    with office.api.db.session() as s:
        s.execute(update(Job).where(Job.kind == reports.SUBMIT_JOB).values(run_at=utcnow()))  # the retry is due
    _work(office, tipline)
    filed = _report(office)
    assert (filed.state, filed.report_id) == ("finished", report_id) and list(tipline.state.reports) == [report_id]
    assert filed.hold_id is not None


@pytest.mark.parametrize("ends", ["raising", "dying"])
def test_a_filing_whose_job_gives_up_is_failed_for_staff_to_submit_again(
    office: Office, tipline: Tipline, monkeypatch: pytest.MonkeyPatch, ends: str,
) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    repaired = _crashing_uploads(monkeypatch, "the blob store is gone")
    _queue(office, case_id)
    with office.api.db.session() as s:  # the last attempt
        s.execute(update(Job).where(Job.kind == reports.SUBMIT_JOB).values(max_attempts=1))
    if ends == "raising":
        _work(office, tipline)
    else:  # the worker dies holding the job, whose lease then runs out
        claim(office.api.db, "died", [reports.SUBMIT_JOB], lease_seconds=-1)
        with office.api.db.session() as s:
            s.get_one(NcmecReport, _report(office).id).state = "submitting"
        _work(office, tipline)
    stuck = _report(office)
    assert _filing_jobs(office) == [("failed", 1)]
    assert stuck.state == "failed" and [e["step"] for e in stuck.errors] == ["worker"]
    with office.api.db.reader() as s:
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "ncmec_report").order_by(AuditEvent.id.desc())
                         .limit(1)).scalar_one() == "ncmec_report.given_up"
    repaired()
    _queue(office, case_id)
    _work(office, tipline)
    filed = _report(office)
    assert filed.state == "finished" and list(tipline.state.reports) == [filed.report_id]


def test_a_failed_report_ncmec_opened_can_be_retracted_and_the_case_reported_anew(
    office: Office, tipline: Tipline, monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id, _item = _child_safety_case(office)
    _build(office, case_id, tipline)
    _quick_retries(monkeypatch, tipline)
    original_submit = CyberTiplineClient.submit

    def submit_then_fail(self: CyberTiplineClient, document: bytes) -> int:  # NCMEC falls over after opening the report
        report_id = original_submit(self, document)
        tipline.fail(1000, 8)
        return report_id

    monkeypatch.setattr(CyberTiplineClient, "submit", submit_then_fail)
    queued = _queue(office, case_id)
    with pytest.raises(Conflict, match="being submitted"), tipline.client() as client:
        reports.retract(office.api.db, CARA, _cara(office), case_id, client)
    _work(office, tipline)
    assert _report(office).state == "failed"
    tipline.state.failures.clear()
    with tipline.client() as client:
        retracted = reports.retract(office.api.db, CARA, _cara(office), case_id, client)
    assert (retracted.id, retracted.state, tipline.held(retracted.report_id)["state"]) == (queued.id, "retracted", "retracted")
    again = _build(office, case_id, tipline)
    assert again.report.id != retracted.id and again.report.state == "draft"
    with office.api.db.reader() as s:
        assert reports.latest(s, case_id).id == again.report.id


def test_only_child_safety_cases_make_reports_and_only_for_those_who_see_them(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    with pytest.raises(NotFound), office.api.db.session() as s:
        reports.build(s, CARA, Reviewer(office.users["mia"], ("moderator",)), case_id, tipline.settings())
    spam_case, _item = _child_safety_case(office, "photo-10", policy="SPAM")
    with pytest.raises(FieldError, match="maps to no NCMEC incident type"), office.api.db.session() as s:
        reports.build(s, CARA, Reviewer(office.users["mia"], ("moderator",)), spam_case, tipline.settings())
    with office.api.db.reader() as s:
        assert s.execute(select(NcmecReport)).scalars().all() == []


def test_the_child_safety_queues_review_within_the_hour_by_default(office: Office) -> None:
    with office.api.db.reader() as s:
        found = {q.name: q.sla_minutes for q in s.execute(select(Queue).where(Queue.name.in_(["Child safety", "Child safety tier"])))
                 .scalars()}
    assert found == {"Child safety": {"P0": 60, "P1": 60, "P2": 60, "P3": 60},
                     "Child safety tier": {"P0": 60, "P1": 60, "P2": 60, "P3": 60}}


def test_the_command_line_builds_a_draft_whose_xml_validates_and_names_what_does_not(
    office: Office, cli_env: Settings, tmp_path: Path,
) -> None:
    case_id, _media_id = _child_safety_case(office)
    _confirm(office, case_id)
    out = tmp_path / "report.xml"
    said = run_command("ncmec", "build", str(case_id), "--by", "cara", "--out", str(out))
    assert said == f"wrote the draft report of case {case_id} (Child Pornography (possession, manufacture, and distribution)) " \
                   f"to {out} valid against cyber_tipline.xsd"
    assert etree.fromstring(out.read_bytes()).tag == "report"
    assert run_command("ncmec", "validate", str(out)) == "valid against cyber_tipline.xsd"
    with office.api.db.reader() as s:
        assert s.execute(select(NcmecReport.state).where(NcmecReport.case_id == case_id)).scalar_one() == "draft"
    broken = tmp_path / "broken.xml"
    broken.write_bytes(out.read_bytes().replace(b"<incidentType>", b"<incidentKind>", 1).replace(b"</incidentType>", b"</incidentKind>", 1))
    said = run_command("ncmec", "validate", str(broken), code=1)
    assert said.startswith("not valid against cyber_tipline.xsd: 1 problem(s) line ") and "incidentKind" in said
    refused = run_command("ncmec", "build", str(case_id), "--by", "mia", "--out", str(tmp_path / "x.xml"), code=2)
    assert refused == "by: mia does not hold the child-safety role"
