"""Canned rationales per policy: every staff member reads them, admins keep them. The rules are
`trustdesk.canned_rationales`'."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk import canned_rationales
from trustdesk.canned_rationales import MAX_POSITION, MAX_TEXT
from trustdesk.domain.client_input import RowId
from trustdesk.domain.roles import ADMINS
from trustdesk.store.models import CannedRationale
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = api_router("canned rationales")


class RationaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The sentence offered to reviewers; they may edit it before deciding.")
    position: int = Field(default=100, ge=0, le=MAX_POSITION, description="Lower comes first.")


class RationaleOut(BaseModel):
    id: int
    policy_code: str
    text: str
    position: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: CannedRationale) -> "RationaleOut":
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


@router.get("/policies/{code}/rationales", response_model=list[RationaleOut])
def list_rationales(code: str, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> list[RationaleOut]:
    """The policy's canned rationales, in the order the decision panel offers them."""
    return [RationaleOut.of(r) for r in canned_rationales.rationales_for(session, code)]


@router.post("/policies/{code}/rationales", response_model=RationaleOut, status_code=201)
def add_rationale(code: str, body: RationaleIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> RationaleOut:
    """Add a canned rationale to the policy (audited)."""
    return RationaleOut.of(canned_rationales.add_rationale(session, who.actor, code, body.text, body.position))


@router.put("/rationales/{rationale_id}", response_model=RationaleOut)
def edit_rationale(rationale_id: RowId, body: RationaleIn, who: StaffContext = Depends(staff_with(*ADMINS)),
                   session: Session = COMMITTED) -> RationaleOut:
    """Change a canned rationale's text and position (audited)."""
    return RationaleOut.of(canned_rationales.edit_rationale(session, who.actor, rationale_id, body.text, body.position))


@router.delete("/rationales/{rationale_id}", status_code=204)
def remove_rationale(rationale_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> None:
    """Remove a canned rationale (audited); decisions that used its words keep them."""
    canned_rationales.remove_rationale(session, who.actor, rationale_id)
