"""Walk the audit chain and name the first link that does not hold."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import GENESIS_HASH, block_hash, event_hash
from trustdesk.store.models import AuditBlock, AuditChainHead, AuditEvent

_BLOCKS_PER_QUERY = 500


@dataclass
class VerifyResult:
    blocks: int = 0
    events: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(session: Session) -> VerifyResult:
    """Recompute every event and block hash in chain order; stop at the first mismatch."""
    result = VerifyResult()
    expected_prev, expected_seq = GENESIS_HASH, 1
    while True:
        blocks = session.execute(
            select(AuditBlock).where(AuditBlock.seq >= expected_seq).order_by(AuditBlock.seq).limit(_BLOCKS_PER_QUERY)
        ).scalars().all()
        if not blocks:
            break
        events_by_tx: dict[str, list[AuditEvent]] = {}
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.tx_id.in_([b.tx_id for b in blocks])).order_by(AuditEvent.position)
        ).scalars()
        for row in rows:
            events_by_tx.setdefault(row.tx_id, []).append(row)
        for block in blocks:
            problem = _check_block(block, events_by_tx.get(block.tx_id, []), expected_seq, expected_prev)
            if problem:
                result.problem = problem
                return result
            result.blocks += 1
            result.events += block.event_count
            expected_prev, expected_seq = block.block_hash, block.seq + 1
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1)).scalar_one()
    if head.seq != expected_seq - 1 or head.block_hash != expected_prev:
        result.problem = f"chain head points at block {head.seq}, but the chain ends at block {expected_seq - 1}"
        return result
    total = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    if total != result.events:
        stray = session.execute(
            select(AuditEvent.id)
            .where(AuditEvent.tx_id.not_in(select(AuditBlock.tx_id)))
            .order_by(AuditEvent.id)
            .limit(1)
        ).scalar()
        result.problem = f"event {stray} is not part of any sealed block ({total - result.events} stray events)"
    return result


def _check_block(block: AuditBlock, events: list[AuditEvent], seq: int, prev: str) -> str | None:
    if block.seq != seq:
        return f"block {seq} is missing (next block found is {block.seq})"
    if block.prev_hash != prev:
        return f"block {block.seq} does not link to block {seq - 1}: previous hash differs"
    if len(events) != block.event_count:
        return f"block {block.seq} should hold {block.event_count} events but holds {len(events)}"
    for position, row in enumerate(events):
        fields = {c: getattr(row, c) for c in _EVENT_FIELDS}
        if row.position != position:
            return f"block {block.seq}: event {row.id} is out of place (position {row.position})"
        if event_hash(fields) != row.event_hash:
            return f"event {row.id} in block {block.seq} was altered: its content no longer matches its hash"
    if block_hash(block.seq, prev, block.tx_id, [e.event_hash for e in events]) != block.block_hash:
        return f"block {block.seq} was altered: its hash no longer matches its events"
    return None


_EVENT_FIELDS = (
    "tx_id", "position", "actor_type", "actor_id", "verb", "object_type", "object_id",
    "before", "after", "person_ref", "at",
)
