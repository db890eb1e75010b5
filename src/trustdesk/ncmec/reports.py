"""CyberTipline reports of child-safety cases: build one, file it with NCMEC, retract it.

Building stores a `draft` (the XML and the files it will carry) and may be repeated until it
is submitted. Submitting claims the draft (`queued`, a conditional UPDATE: one filing per
draft however many submits arrive together) and queues a worker job, which files it
(`submitting`, then `finished`): the protocol one step per transaction, writing down what NCMEC
gave after each (the `reportId`, each file's `fileId`). A filing that stops half way is resumed
from there: a refused step or an NCMEC out of reach leaves it `failed` with the code and
description, and submitting again goes on; a worker that dies leaves it `submitting` and the
job's retry goes on, and once the job has no attempts left the report is `failed` too, to submit
again. None of these opens a second report: the time a submission is sent is written down first,
and a submission sent whose answer was never recorded (the worker died on the way back, or no
answer came) is never sent again by the worker; the report is `failed`, saying NCMEC may hold it,
until staff who checked with NCMEC submit it again. Nothing is sent that does not validate.

Once NCMEC holds a report (it gave a `reportId`), TrustDesk must preserve what it reported for
a year (18 U.S.C. §2258A as amended by the REPORT Act): `on_report_submitted` marks the
report's hold as due until then; the evidence module places the hold itself and fills in
`hold_id`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, visible_case
from trustdesk.config import NcmecSettings
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.legal_holds import HoldBasis, HoldSpec
from trustdesk.evidence.holds import place_hold
from trustdesk.jobs.queue import enqueue
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.ncmec import builder, filing_deadline, schema
from trustdesk.ncmec.client import CyberTiplineClient, NcmecError
from trustdesk.ncmec.tipline import TiplineFile, file_details_xml, report_xml
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Case, CaseSubject, Decision, NcmecReport, utcnow

LIVE = NcmecReport.state != "retracted"
_RESUMABLE = ("draft", "failed")
IN_FLIGHT = ("queued", "submitting")  # claimed for the worker, which files it
SUBMIT_JOB = "ncmec_submit_report"


@dataclass
class Built:
    report: NcmecReport
    problems: list[str]  # why the XML does not validate; empty when it does


def client_for(settings: NcmecSettings) -> CyberTiplineClient:
    return CyberTiplineClient(settings.base_url, settings.username, settings.password)


def latest(session: Session, case_id: int) -> NcmecReport | None:
    """The case's live report, else its last retracted one; None if it never had one."""
    return session.execute(
        select(NcmecReport).where(NcmecReport.case_id == case_id).order_by(LIVE.desc(), NcmecReport.id.desc()).limit(1)
    ).scalar_one_or_none()


def build(session: Session, actor: Actor, who: Reviewer, case_id: int, settings: NcmecSettings) -> Built:
    """Make (or remake) the case's draft report from what TrustDesk holds now."""
    tipline = builder.gather(session, who, case_id)
    case = session.get_one(Case, case_id)
    decision = builder.confirming_decision(session, case)
    xml = report_xml(tipline, settings).decode()
    values: dict[str, Any] = {
        "incident_type": tipline.incident_type, "xml": xml, "files": [_file_entry(f) for f in tipline.files],
        "due_at": _due_at(session, case, decision), "updated_at": utcnow(),
    }
    inserted = session.execute(
        conflict_insert(session, NcmecReport)
        .values(case_id=case_id, state="draft", errors=[], created_by=actor.label, created_at=utcnow(), **values)
        .on_conflict_do_nothing(index_elements=["case_id"], index_where=LIVE)
        .returning(NcmecReport.id)
    ).scalar_one_or_none()
    if inserted is None:
        report = _live(session, case_id, lock=True)
        if report.state != "draft":
            raise Conflict("case_id", f"the case's report is {report.state} already: retract it before building another")
        for name, value in values.items():
            setattr(report, name, value)
    else:
        report = session.get_one(NcmecReport, inserted)
    problems = schema.problems(xml.encode())
    record(session, actor=actor, verb="ncmec_report.built", object_type="ncmec_report", object_id=report.id,
           after={"case_id": case_id, "incident_type": tipline.incident_type, "files": len(tipline.files), "valid": not problems})
    return Built(report, problems)


def _due_at(session: Session, case: Case, decision: Decision | None) -> datetime | None:
    """When the report is due: the case's filing deadline, set when the decision confirmed it
    (cases decided before deadlines were kept on the case: from their decision)."""
    if case.legal_due_at is not None or decision is None:
        return case.legal_due_at
    return decision.created_at + filing_deadline.filing_window(session)


def _file_entry(file: TiplineFile) -> dict[str, Any]:
    return asdict(file) | {"received_at": file.received_at.isoformat() if file.received_at else None,
                           "file_id": None, "ncmec_md5": None, "described": False}


def _tipline_file(entry: dict[str, Any]) -> TiplineFile:
    return TiplineFile(entry["media_item_id"], entry["sha256"], entry["md5"], entry["file_name"], entry["viewed_by_staff"],
                       datetime.fromisoformat(entry["received_at"]) if entry["received_at"] else None)


def _live(session: Session, case_id: int, *, lock: bool = False) -> NcmecReport:
    query = select(NcmecReport).where(NcmecReport.case_id == case_id, LIVE)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise NotFound("case_id", f"case {case_id} has no CyberTipline report: build one first")
    return found


def queue_submission(session: Session, actor: Actor, who: Reviewer, case_id: int) -> NcmecReport:
    """Claim the case's draft (or failed filing) for the worker and queue the job that files it.

    The claim is a conditional UPDATE from `draft`/`failed` to `queued`, so of two submits
    arriving together one queues the filing and the other is refused (409): NCMEC never gets
    two reports of one draft. Nothing that does not validate is queued.
    """
    visible_case(session, who, case_id)
    report = _live(session, case_id)
    if report.state in _RESUMABLE and (problems := schema.problems(report.xml.encode())):
        raise FieldError("xml", "the report does not validate against cyber_tipline.xsd: " + problems[0])
    # Staff submitting again after a submission whose answer was lost have checked with NCMEC.
    claimed = session.execute(
        update(NcmecReport).where(NcmecReport.id == report.id, NcmecReport.state.in_(_RESUMABLE))
        .values(state="queued", submit_started_at=None, updated_at=utcnow()).returning(NcmecReport.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if claimed is None:
        session.refresh(report)
        if report.state in IN_FLIGHT:
            raise Conflict("case_id", "the case's report is already being submitted: wait for the worker to file it")
        raise Conflict("case_id", f"the case's report is {report.state}: there is nothing to submit")
    session.refresh(report)
    enqueue(session, SubmitReport(report.id, actor))
    record(session, actor=actor, verb="ncmec_report.queued", object_type="ncmec_report", object_id=report.id,
           after={"case_id": case_id, "report_id": report.report_id})
    return report


@dataclass(frozen=True)
class SubmitReport:
    """The job that files a queued report; `actor` asked for it and is named in the audit log."""

    ncmec_report_id: int
    actor: Actor


def gave_up_filing(ctx: WorkerContext, job: SubmitReport) -> None:
    """The filing job failed for good: a report it left in flight becomes `failed`, so that
    staff see it and can submit again, which goes on from what was stored."""
    with ctx.db.session() as session:
        report = session.get(NcmecReport, job.ncmec_report_id, with_for_update=True)
        if report is not None and report.state in IN_FLIGHT:
            _keep_error(session, job.actor, report, NcmecError(
                "worker", None, "the filing job failed on every attempt (see the worker's log): submit again to go on"),
                        state="failed", verb="ncmec_report.given_up")


@job_kind(SUBMIT_JOB, SubmitReport, given_up=gave_up_filing)
def handle_submit_report(ctx: WorkerContext, job: SubmitReport) -> None:
    """Job handler: file the report with the NCMEC the settings name."""
    with client_for(ctx.settings.ncmec) as client:
        file_report(ctx.db, job.actor, job.ncmec_report_id, client, ctx.blobs)


def file_report(db: Database, actor: Actor, pk: int, client: CyberTiplineClient, blobs: BlobStore) -> NcmecReport | None:
    """Run a queued report through every step to `finished` and return it; None if NCMEC
    refused it, or if it was not queued or being submitted (a job run again after it was done).

    A refusal, or an NCMEC still unreachable after the client's attempts, leaves the report
    `failed` with the step, code and description, for staff to submit again. Any other error
    (the worker died, a file could not be read) leaves it `submitting` and fails the job, whose
    retry goes on from what was stored: once NCMEC gave a `reportId`, it is never submitted again.
    """
    with db.session() as session:
        report = session.get(NcmecReport, pk, with_for_update=True)
        if report is None or report.state not in IN_FLIGHT:
            return None
        report.state, report.updated_at = "submitting", utcnow()
        case_id, xml, report_id, entries = report.case_id, report.xml, report.report_id, [dict(f) for f in report.files]
        sent_before = report.submit_started_at if report_id is None else None
    if sent_before is not None:
        _note_error(db, actor, pk, NcmecError(
            "submit", None, f"a submission sent at {sent_before:%Y-%m-%d %H:%M:%S} UTC got no recorded answer: NCMEC may hold a "
            "report of this case already. Check with NCMEC (and retract a report it holds) before submitting again"), state="failed")
        return None
    try:
        if report_id is None:
            with db.session() as session:  # written down before it is sent: a retry must not send it again
                session.get_one(NcmecReport, pk).submit_started_at = utcnow()
            report_id = client.submit(xml.encode())
            with db.session() as session:  # kept on its own: should anything after fail, the retry never submits again
                report = session.get_one(NcmecReport, pk)
                report.report_id, report.submitted_at, report.updated_at = report_id, utcnow(), utcnow()
                record(session, actor=actor, verb="ncmec_report.submitted", object_type="ncmec_report", object_id=pk,
                       after={"case_id": case_id, "report_id": report_id})
        with db.session() as session:  # the hold is placed once, by the attempt that gets this far
            report = session.get_one(NcmecReport, pk, with_for_update=True)
            if report.hold_id is None:
                on_report_submitted(session, actor, report)
        for index, entry in enumerate(entries):
            if entry["described"]:
                continue
            if entry["file_id"] is None:
                with blobs.open(entry["sha256"]) as stream:
                    answer = client.upload(report_id, entry["file_name"], stream.read())
                if answer.hash and answer.hash.lower() != entry["md5"]:
                    raise NcmecError("upload", None, f"NCMEC's MD5 of {entry['file_name']} is {answer.hash}, not {entry['md5']}")
                entry |= {"file_id": answer.file_id, "ncmec_md5": answer.hash}
                _save_files(db, pk, entries)
            client.file_info(file_details_xml(report_id, entry["file_id"], _tipline_file(entry)))
            entries[index] = entry | {"described": True}
            _save_files(db, pk, entries)
        done = _finish(client, report_id)
    except NcmecError as exc:
        if report_id is None and exc.maybe_done:
            exc.description += ": NCMEC may hold a report of this case already; check with NCMEC before submitting again"
        _note_error(db, actor, pk, exc, state="failed", submitted=report_id is not None or exc.maybe_done)
        return None
    with db.session() as session:
        report = session.get_one(NcmecReport, pk)
        report.state, report.finished_at, report.updated_at = "finished", utcnow(), utcnow()
        record(session, actor=actor, verb="ncmec_report.finished", object_type="ncmec_report", object_id=pk,
               after={"case_id": case_id, "report_id": report_id, "files": list(done)})
        filing_deadline.on_filed(session, actor, case_id, report_id)
        session.flush()
        session.expunge(report)
    return report


def _note_error(db: Database, actor: Actor, pk: int, exc: NcmecError, *, state: str | None = None, submitted: bool = True) -> None:
    """Keep NCMEC's refusal on the report (and move it to `state`, if given), audited. Unless it
    may have been `submitted`, a submission NCMEC refused or never received is not one to fear."""
    with db.session() as session:
        report = session.get_one(NcmecReport, pk)
        if not submitted:
            report.submit_started_at = None
        _keep_error(session, actor, report, exc, state=state)


def _keep_error(
    session: Session, actor: Actor, report: NcmecReport, exc: NcmecError, *, state: str | None, verb: str = "ncmec_report.refused",
) -> None:
    error = {"step": exc.step, "code": exc.code, "description": exc.description, "at": utcnow().isoformat()}
    report.state, report.errors, report.updated_at = state or report.state, [*report.errors, error], utcnow()
    record(session, actor=actor, verb=verb, object_type="ncmec_report", object_id=report.id, after=error)


def _finish(client: CyberTiplineClient, report_id: int) -> tuple[str, ...]:
    """Close the report; 5102 (already finished) means an earlier finish got through unanswered."""
    try:
        return client.finish(report_id).file_ids
    except NcmecError as exc:
        if exc.code == 5102:
            return ()
        raise


def _save_files(db: Database, pk: int, entries: list[dict[str, Any]]) -> None:
    with db.session() as session:
        report = session.get_one(NcmecReport, pk)
        report.files, report.updated_at = [dict(e) for e in entries], utcnow()


def retract(db: Database, actor: Actor, who: Reviewer, case_id: int, client: CyberTiplineClient) -> NcmecReport:
    """Withdraw a report NCMEC holds but that is not finished; 5101 (already retracted) agrees.
    Any other refusal is kept on the report, which stays as it was, and raised."""
    with db.session() as session:
        visible_case(session, who, case_id)
        report = _live(session, case_id, lock=True)
        if report.report_id is None or report.finished_at is not None or report.state in IN_FLIGHT:
            raise Conflict("case_id", "only a report opened at NCMEC, not finished and not being submitted can be retracted")
        pk, report_id = report.id, report.report_id
    try:
        client.retract(report_id)
    except NcmecError as exc:
        if exc.code != 5101:
            _note_error(db, actor, pk, exc)
            raise
    with db.session() as session:
        report = session.get_one(NcmecReport, pk)
        report.state, report.retracted_at, report.updated_at = "retracted", utcnow(), utcnow()
        record(session, actor=actor, verb="ncmec_report.retracted", object_type="ncmec_report", object_id=pk,
               after={"case_id": case_id, "report_id": report_id})
        session.flush()
        session.expunge(report)
    return report


def on_report_submitted(session: Session, actor: Actor, report: NcmecReport) -> None:
    """NCMEC holds the report: what it concerns is preserved for a year from its submission, by
    an evidence hold on the case's subjects (snapshotted now, so later deletions cannot touch it)."""
    subject_ids = list(session.execute(select(CaseSubject.subject_id).where(CaseSubject.case_id == report.case_id)).scalars())
    hold = place_hold(session, actor, subject_ids, HoldSpec(
        HoldBasis.NCMEC_REPORT.value, f"CyberTipline report {report.report_id} filed from case {report.case_id}",
        reference=f"NCMEC {report.report_id}",
    ))
    report.hold_id, report.hold_until = hold.id, hold.expires_at
    record(session, actor=actor, verb="ncmec_report.hold_placed", object_type="ncmec_report", object_id=report.id,
           after={"case_id": report.case_id, "hold_id": hold.id, "hold_until": report.hold_until})
