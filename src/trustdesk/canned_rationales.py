"""Canned rationales: the sentences reviewers write again and again under a policy, kept per
policy code so the decision panel offers them as one-click fills of the rationale.

They are kept by policy code, not version: a new version of the policy keeps its rationales.
A reviewer may edit the filled text before deciding; what the decision stores is what was sent.
Every add, edit and removal is audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.store.models import CannedRationale, Policy, utcnow

MAX_TEXT = 2000
MAX_POSITION = 10_000


def rationales_for(session: Session, policy_code: str) -> list[CannedRationale]:
    """The policy's canned rationales in the order reviewers see them."""
    return list(session.execute(
        select(CannedRationale).where(CannedRationale.policy_code == policy_code)
        .order_by(CannedRationale.position, CannedRationale.id)
    ).scalars())


def _checked(text: str, position: int) -> tuple[str, int]:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise FieldError("text", "write the rationale")
    if len(text) > MAX_TEXT:
        raise FieldError("text", f"at most {MAX_TEXT} characters")
    if not 0 <= position <= MAX_POSITION:
        raise FieldError("position", f"a whole number from 0 to {MAX_POSITION}")
    return text, position


def add_rationale(session: Session, actor: Actor, policy_code: str, text: str, position: int = 100) -> CannedRationale:
    if session.execute(select(Policy.id).where(Policy.code == policy_code).limit(1)).first() is None:
        raise NotFound("code", f"no policy {policy_code!r}")
    text, position = _checked(text, position)
    row = CannedRationale(policy_code=policy_code, text=text, position=position, created_by=actor.label)
    session.add(row)
    session.flush()
    record(session, actor=actor, verb="canned_rationale.added", object_type="canned_rationale", object_id=row.id,
           after={"policy_code": policy_code, "text": text, "position": position})
    return row


def _rationale(session: Session, rationale_id: int, policy_code: str | None) -> CannedRationale:
    row = session.get(CannedRationale, rationale_id, with_for_update=True)
    if row is None or (policy_code is not None and row.policy_code != policy_code):
        raise NotFound("rationale_id", f"no canned rationale {rationale_id}")
    return row


def edit_rationale(
    session: Session, actor: Actor, rationale_id: int, text: str, position: int, policy_code: str | None = None,
) -> CannedRationale:
    row = _rationale(session, rationale_id, policy_code)
    text, position = _checked(text, position)
    before = {"text": row.text, "position": row.position}
    row.text, row.position, row.updated_at = text, position, utcnow()
    record(session, actor=actor, verb="canned_rationale.edited", object_type="canned_rationale", object_id=row.id,
           before=before, after={"text": text, "position": position})
    return row


def remove_rationale(session: Session, actor: Actor, rationale_id: int, policy_code: str | None = None) -> None:
    row = _rationale(session, rationale_id, policy_code)
    record(session, actor=actor, verb="canned_rationale.removed", object_type="canned_rationale", object_id=row.id,
           before={"policy_code": row.policy_code, "text": row.text, "position": row.position})
    session.delete(row)
