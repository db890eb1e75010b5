"""What a person's answered privacy requests still ask of TrustDesk's own processing.

A restriction (GDPR Art. 18), until it is lifted, and an objection or opt-out (GDPR Art. 21,
the CCPA), for good, withhold the person's content (their account and everything it owns) from
automation: the analysers do not look at it (`trustdesk.analysis.runs`), and neither routing
(`trustdesk.cases.routing`) nor a pre-publication check (`trustdesk.rules.verdicts`) evaluates a
rule on it. The data is kept, and reports about it still reach
people, who review them as before: protecting other people's rights is a purpose Art. 18(2)
keeps open. A rectification's statement stays against the account, shown with it and exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from trustdesk.domain.privacy_requests import CORRECTIONS, OBJECTIONS, RESTRICTIONS, RequestStatus
from trustdesk.store.dialects import InIds
from trustdesk.store.models import PrivacyRequest, Subject


# Those of the given subjects whose account (or who, being an account) has an answered request
# that withholds it from automation now. Built once: every synchronous check and every batch the
# worker analyses asks. One probe of the requests' subject index per subject, however many
# people have objected over the years.
_WITHHELD = select(Subject.id).where(InIds(Subject.id), exists().where(
    PrivacyRequest.subject_id == func.coalesce(Subject.account_id, Subject.id),
    PrivacyRequest.status == RequestStatus.ANSWERED.value,
    or_(PrivacyRequest.request_type.in_([t.value for t in OBJECTIONS]),
        PrivacyRequest.request_type.in_([t.value for t in RESTRICTIONS]) & PrivacyRequest.lifted_at.is_(None)),
))


def withheld_from_automation(session: Session, subject_ids: Iterable[int]) -> set[int]:
    """Those of `subject_ids` whose person restricted processing or objected to it."""
    ids = list(set(subject_ids))
    return set(session.execute(_WITHHELD, {"ids": ids}).scalars()) if ids else set()


@dataclass(frozen=True)
class Standing:
    """What an account's answered requests leave standing: the restriction and objection in
    force (the request that made each) and the statements kept, oldest first."""

    restricted_by: PrivacyRequest | None
    objected_by: PrivacyRequest | None
    statements: list[PrivacyRequest]

    @property
    def withheld(self) -> bool:
        return self.restricted_by is not None or self.objected_by is not None

    @property
    def anything(self) -> bool:
        return self.withheld or bool(self.statements)


def standing(session: Session, account_id: int) -> Standing:
    kinds = [t.value for t in CORRECTIONS | RESTRICTIONS | OBJECTIONS]
    answered = list(session.execute(
        select(PrivacyRequest).where(PrivacyRequest.subject_id == account_id, PrivacyRequest.status == RequestStatus.ANSWERED.value,
                                     PrivacyRequest.request_type.in_(kinds)).order_by(PrivacyRequest.id)
    ).scalars())
    restricted = [r for r in answered if r.request_type in RESTRICTIONS and r.lifted_at is None]
    objected = [r for r in answered if r.request_type in OBJECTIONS]
    return Standing(restricted[0] if restricted else None, objected[0] if objected else None,
                    [r for r in answered if r.request_type in CORRECTIONS and r.statement])
