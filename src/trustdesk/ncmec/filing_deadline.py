"""The CyberTipline filing deadline of a confirmed child-safety case, kept on the case.

A violation decided under a child-safety policy (one mapped to an NCMEC incident type)
confirms apparent exploitation: the case's report must be filed within
`TRUSTDESK_NCMEC_FILING_HOURS` (24 by default) of that decision. The deadline is the case's
`legal_due_at`, as for privacy and law-enforcement requests, and stays there until the report
is filed (then it is cleared; the report keeps its `due_at`), or until the decision is reversed
(on appeal or by a senior: it no longer confirms anything, so nothing is due; a report built or
filed stays as it is). The decision closes the case,
so the SLA sweep, which breaches open cases on their `due_at`, reads this deadline through
`mark_breaches`: once past it, the case's `legal_breached_at` is set and the breach audited as
`case.sla_breached`, like any other. The child-safety dashboard (`outstanding`) lists the
filings due, soonest first, with the breached ones marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, hidden_queue_ids
from trustdesk.config import NcmecSettings
from trustdesk.domain.decision_trees import VIOLATION
from trustdesk.domain.vocabulary import CaseKind
from trustdesk.store.models import Case, Decision, NcmecReport, Policy, as_utc

# Privacy and law-enforcement request cases keep their own legal deadline, answered otherwise;
# on any other case `legal_due_at` is a filing still due (it is cleared once filed).
_OWN_DEADLINE = (CaseKind.PRIVACY_REQUEST.value, CaseKind.LAW_ENFORCEMENT_REQUEST.value)
FILING_DUE = and_(Case.legal_due_at.is_not(None), Case.kind.not_in(_OWN_DEADLINE))
_BATCH = 500


def filing_window(session: Session) -> timedelta:
    """`TRUSTDESK_NCMEC_FILING_HOURS`, which the database's sessions carry (`Settings.session_info`)."""
    return timedelta(hours=int(session.info.get("ncmec_filing_hours", NcmecSettings.filing_hours)))


def on_decision(session: Session, actor: Actor, decision: Decision, policy: Policy, case: Case | None) -> None:
    """A violation under a child-safety policy starts the filing clock on the case it decides."""
    if case is None or decision.verdict != VIOLATION or not policy.ncmec_incident_type:
        return
    case.legal_due_at, case.legal_breached_at = decision.created_at + filing_window(session), None
    record(session, actor=actor, verb="case.filing_due", object_type="case", object_id=case.id,
           after={"legal_due_at": case.legal_due_at, "decision_id": decision.id, "ncmec_incident_type": policy.ncmec_incident_type})


def on_filed(session: Session, actor: Actor, case_id: int, report_id: int) -> None:
    """The report is filed: the duty is met, so the deadline leaves the case (the report keeps it)."""
    case = session.get_one(Case, case_id)
    if case.legal_due_at is None:
        return
    before = {"legal_due_at": case.legal_due_at}
    case.legal_due_at = None
    record(session, actor=actor, verb="case.filing_done", object_type="case", object_id=case_id, before=before,
           after={"legal_due_at": None, "report_id": report_id, "late": case.legal_breached_at is not None})


def on_reversed(session: Session, actor: Actor, decision: Decision, reason: str) -> None:
    """The child-safety violation that started the case's filing clock is reversed: the filing is
    no longer due, so the deadline leaves the case (a breach already recorded stays recorded)."""
    if decision.case_id is None or decision.verdict != VIOLATION:
        return
    case = session.get_one(Case, decision.case_id, with_for_update=True)
    policy = session.get_one(Policy, decision.policy_id)
    if case.legal_due_at is None or case.kind in _OWN_DEADLINE or not policy.ncmec_incident_type:
        return
    before = {"legal_due_at": case.legal_due_at}
    case.legal_due_at = None
    record(session, actor=actor, verb="case.filing_withdrawn", object_type="case", object_id=case.id, before=before,
           after={"legal_due_at": None, "decision_id": decision.id, "reason": reason})


def mark_breaches(session: Session, actor: Actor, now: datetime) -> int:
    """Record up to a batch of filings past their deadline; how many."""
    cases = session.execute(
        select(Case).where(FILING_DUE, Case.legal_due_at < now, Case.legal_breached_at.is_(None))
        .order_by(Case.id).limit(_BATCH).with_for_update(skip_locked=True)
    ).scalars().all()
    for case in cases:
        case.legal_breached_at = now
        record(session, actor=actor, verb="case.sla_breached", object_type="case", object_id=case.id,
               after={"legal_due_at": case.legal_due_at, "deadline": "ncmec_filing", "queue_id": case.queue_id})
    return len(cases)


@dataclass(frozen=True)
class DueFiling:
    case: Case
    report: NcmecReport | None
    breached: bool


def outstanding(session: Session, who: Reviewer, now: datetime, *, limit: int = 500) -> list[DueFiling]:
    """The filings due on the cases `who` may see, soonest first; breached once past their deadline."""
    query = select(Case, NcmecReport).outerjoin(NcmecReport, and_(NcmecReport.case_id == Case.id, NcmecReport.state != "retracted"))
    hidden = hidden_queue_ids(session, who)
    if hidden:
        query = query.where(Case.queue_id.not_in(hidden))
    rows = session.execute(query.where(FILING_DUE).order_by(Case.legal_due_at, Case.id).limit(limit)).all()
    return [DueFiling(case, report, as_utc(case.legal_due_at) < now) for case, report in rows]
