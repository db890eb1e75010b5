"""Search for staff automation: the console's search box as JSON (`trustdesk.search.finding`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trustdesk.search.finding import MAX_PAGE, MAX_QUERY, Hit, HitKind, search
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, staff_with

router = api_router("search")


class SearchHitOut(BaseModel):
    kind: HitKind
    id: int
    matched: str = Field(description="How it matched: `case id`, `report id`, `report external id`, `subject id`, "
                                     "`subject external id`, an identifier kind (`email`, `phone`, `ip`, `device_id`, "
                                     "`payment_fingerprint`, `phone_hash`), or `text`")
    title: str
    summary: str
    app: str
    subject_id: int
    case_id: int | None
    at: datetime = Field(description="When the case was opened, or the report or subject received")
    url: str = Field(description="Its page in the console")

    @classmethod
    def of(cls, hit: Hit) -> "SearchHitOut":
        return cls(kind=hit.kind, id=hit.id, matched=hit.matched, title=hit.title, summary=hit.summary, app=hit.app,
                   subject_id=hit.subject_id, case_id=hit.case_id, at=hit.at, url=hit.url)


class SearchOut(BaseModel):
    q: str
    page: int
    next_page: int | None = Field(description="The next page of text matches, if there is one")
    compared_as: list[str] = Field(description="Identifier kinds the query was compared as, by keyed digest (audited)")
    hits: list[SearchHitOut]


@router.get("/search", response_model=SearchOut)
def search_everything(
    q: str = Query(min_length=1, max_length=MAX_QUERY, description="An id, external id, email, phone number, IP address, "
                                                                   "device id, or words"),
    kind: HitKind | None = Query(None, description="Only hits of this kind"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    who: StaffContext = Depends(staff_with()), session: Session = COMMITTED,
) -> SearchOut:
    """Exact matches (ids, external ids, personal identifiers) first, then text matches newest first.

    Only what the caller may see is searched: cases of queues whose roles they lack, and the
    subjects and reports of such cases, are never found. Comparing the query with personal
    identifiers is recorded in the audit log (the kinds compared, not the value).
    """
    found = search(session, who.actor, who.reviewer, q, kind, page)
    return SearchOut(q=found.query, page=found.page, next_page=found.next_page, compared_as=found.compared_as,
                     hits=[SearchHitOut.of(h) for h in found.hits])
