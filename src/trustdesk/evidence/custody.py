"""The chain of custody of one hold: every placing, reading, export, transfer, extension and
release, with who did it and why, each event hashed over the previous one.

The head of the chain lives on the hold's row, which is locked while an event is appended, so
two readers of one hold at the same moment queue for that instant and the chain never forks
(the unique (hold, seq) key would refuse a fork anyway).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor
from trustdesk.domain.legal_holds import CustodyVerb, canonical_bytes, custody_hash
from trustdesk.store.models import CustodyEvent, LegalHold, utcnow


def append(session: Session, hold_id: int, actor: Actor, verb: CustodyVerb, reason: str,
           detail: dict[str, Any] | None = None) -> CustodyEvent:
    hold = session.execute(select(LegalHold).where(LegalHold.id == hold_id).with_for_update()).scalar_one()
    event = {
        "hold_id": hold.id, "seq": hold.custody_seq + 1, "actor": actor.label, "verb": verb.value, "reason": reason,
        # Round-tripped through JSON so that what is hashed is what the database gives back.
        "detail": orjson.loads(canonical_bytes(detail or {})), "at": utcnow(), "prev_hash": hold.custody_head,
    }
    event["event_hash"] = custody_hash(exported(event))
    row = CustodyEvent(**event)
    session.add(row)
    hold.custody_seq, hold.custody_head = event["seq"], event["event_hash"]
    session.flush()
    return row


def exported(event: CustodyEvent | dict[str, Any]) -> dict[str, Any]:
    """The event as the package's custody log carries it, times as canonical UTC strings."""
    fields = event if isinstance(event, dict) else {c: getattr(event, c) for c in _FIELDS}
    out = orjson.loads(canonical_bytes({k: fields[k] for k in _FIELDS if k in fields}))
    return out  # type: ignore[no-any-return]


def log_of(session: Session, hold_id: int) -> list[CustodyEvent]:
    return list(session.execute(select(CustodyEvent).where(CustodyEvent.hold_id == hold_id).order_by(CustodyEvent.seq)).scalars())


_FIELDS = ("hold_id", "seq", "actor", "verb", "reason", "detail", "at", "prev_hash", "event_hash")
