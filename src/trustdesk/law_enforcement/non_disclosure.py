"""Non-disclosure orders: while one stands, nothing TrustDesk sends or exports to the people a
law-enforcement request names may mention the request (no tipping off).

Two places ask: `trustdesk.notices.notice.queue_notice`, the one way a notice is written,
refuses a notice on the request's case; and a privacy access export leaves out the requests
`withheld_requests` names (`under_non_disclosure` says whether there are any).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.domain.law_enforcement import non_disclosure_stands
from trustdesk.store.models import CaseSubject, LawEnforcementRequest, utcnow


def withheld_requests(session: Session, subject_ids: Iterable[int], *, today: date | None = None) -> list[int]:
    """Ids of the requests naming any of the subjects under a standing non-disclosure order."""
    ids = list(set(subject_ids))
    if not ids:
        return []
    rows = session.execute(
        select(LawEnforcementRequest.id, LawEnforcementRequest.non_disclosure_until)
        .join(CaseSubject, CaseSubject.case_id == LawEnforcementRequest.case_id)
        .where(CaseSubject.subject_id.in_(ids), LawEnforcementRequest.non_disclosure.is_(True)).distinct()
    ).all()
    return sorted(request_id for request_id, until in rows if non_disclosure_stands(until, today or utcnow().date()))


def under_non_disclosure(session: Session, subject_ids: Iterable[int], *, today: date | None = None) -> bool:
    """Whether a standing non-disclosure order covers a request naming any of the subjects."""
    return bool(withheld_requests(session, subject_ids, today=today))


def case_under_non_disclosure(session: Session, case_id: int, *, today: date | None = None) -> bool:
    """Whether the case is a law-enforcement request's under a standing non-disclosure order."""
    until = session.execute(select(LawEnforcementRequest.non_disclosure_until).where(
        LawEnforcementRequest.case_id == case_id, LawEnforcementRequest.non_disclosure.is_(True))).first()
    return until is not None and non_disclosure_stands(until[0], today or utcnow().date())
