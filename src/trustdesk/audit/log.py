"""The append-only, hash-chained audit log.

Services call `record()` beside the change it explains, inside the same session. When the
session commits, every event recorded in that transaction is written and hashed together into
one block chained to the previous block; a savepoint rolled back takes back only the events
recorded since it began, and one released seals nothing of its own. Sealing locks the single chain-head row, so on
PostgreSQL concurrent transactions queue for that moment only and the chain never forks; on
SQLite the write transaction already holds the database lock.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import String, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.audit import personal_data
from trustdesk.store.dialects import dialect_name, insert_from_json, json_rows
from trustdesk.store.pending import Pending
from trustdesk.store.models import (
    AuditBlock,
    AuditChainHead,
    AuditEvent,
    UtcDateTime,
    as_utc,
    utcnow,
)

GENESIS_HASH = "0" * 64
_PENDING = "audit_pending"
_TIME = "audit_time"


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff user, an API client, or the system itself (worker, import)."""

    type: str
    id: str

    @property
    def label(self) -> str:
        return f"{self.type}:{self.id}"


SYSTEM = Actor("system", "trustdesk")


def canonical_time(value: datetime) -> str:
    return as_utc(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(fields: dict[str, Any]) -> str:
    """Hash of one event's content, in a form both databases give back identically."""
    body = {
        "tx_id": fields["tx_id"],
        "position": fields["position"],
        "actor": f"{fields['actor_type']}:{fields['actor_id']}",
        "verb": fields["verb"],
        "object": f"{fields['object_type']}:{fields['object_id']}",
        "before": fields["before"],
        "after": fields["after"],
        "person_ref": fields["person_ref"],
        "at": canonical_time(fields["at"]),
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def block_hash(seq: int, prev_hash: str, tx_id: str, event_hashes: list[str]) -> str:
    digest = hashlib.sha256(f"{seq}|{prev_hash}|{tx_id}|".encode())
    for value in event_hashes:
        digest.update(value.encode())
    return digest.hexdigest()


def record(
    session: Session,
    *,
    actor: Actor,
    verb: str,
    object_type: str,
    object_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    person_ref: str | None = None,
) -> None:
    """Append an event to this transaction's block; personal fields are encrypted first."""
    if person_ref is not None:
        before = personal_data.encrypt_fields(session, before, person_ref)
        after = personal_data.encrypt_fields(session, after, person_ref)
    session.info.setdefault(_PENDING, []).append(
        {
            "actor_type": actor.type,
            "actor_id": actor.id,
            "verb": verb,
            "object_type": object_type,
            "object_id": str(object_id),
            "before": _jsonable(before),
            "after": _jsonable(after),
            "person_ref": person_ref,
            "at": _transaction_time(session),
        }
    )


def _transaction_time(session: Session) -> datetime:
    """One timestamp for all events of a transaction: they happened together, at its time."""
    if _TIME not in session.info:
        session.info[_TIME] = utcnow()
    return session.info[_TIME]


def _jsonable(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """Round-trip through JSON so that what is hashed is exactly what the database stores."""
    if payload is None:
        return None
    return orjson.loads(orjson.dumps(payload, default=_encode_value, option=orjson.OPT_NON_STR_KEYS))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return canonical_time(value)
    return str(value)


# Built once: every committing transaction runs them, and building a statement costs more than running it.
_HEAD = select(AuditChainHead.seq, AuditChainHead.block_hash).where(AuditChainHead.id == 1).with_for_update()
_EVENT_COLUMNS = ("position", "actor_type", "actor_id", "verb", "object_type", "object_id", "before", "after", "person_ref", "event_hash")
_ADD_BLOCK = insert(AuditBlock)
_MOVE_HEAD = update(AuditChainHead).where(AuditChainHead.id == 1).values(
    seq=bindparam("new_seq"), block_hash=bindparam("new_hash")
)


def _seal(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its events are sealed with the whole transaction's
        return
    # Write the transaction's changes before taking the chain head: whoever holds the head must
    # not then wait for a row lock, or it waits on a transaction that is queueing for the head.
    session.flush()
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    conn = session.connection()
    head = conn.execute(_HEAD).one()
    seq, prev = head.seq + 1, head.block_hash
    tx_id = uuid.uuid4().hex
    for position, fields in enumerate(pending):
        fields["tx_id"] = tx_id
        fields["position"] = position
        fields["event_hash"] = event_hash(fields)
    sealed = block_hash(seq, prev, tx_id, [f["event_hash"] for f in pending])
    # One statement whatever the number of events (intake seals a thousand at once); the
    # transaction's id and time are the same for all of them.
    dialect = dialect_name(session)
    rows = json_rows(dialect, AuditEvent.__table__, [{name: fields[name] for name in _EVENT_COLUMNS} for fields in pending])
    conn.execute(_add_events(dialect, rows.columns, rows.shared), {**rows.params, "tx_id": tx_id, "at": pending[0]["at"]})
    conn.execute(_ADD_BLOCK, {"seq": seq, "tx_id": tx_id, "event_count": len(pending), "prev_hash": prev,
                              "block_hash": sealed, "sealed_at": utcnow()})
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": sealed})


@functools.lru_cache(maxsize=64)
def _add_events(dialect: str, columns: tuple[str, ...], shared: tuple[str, ...]) -> Any:
    return insert_from_json(dialect, AuditEvent.__table__, columns, shared,
                            tx_id=bindparam("tx_id", type_=String()), at=bindparam("at", type_=UtcDateTime()))


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_TIME, None)
    session.info.pop(personal_data.CACHE_KEY, None)


def _back_to(session: Session, recorded: int) -> None:
    """A rolled-back savepoint takes back the events recorded since it began."""
    del session.info.get(_PENDING, [])[recorded:]


_KEPT = Pending("audit_savepoints", mark=lambda session: len(session.info.get(_PENDING, [])), back_to=_back_to, forget=_forget)


def install(factory: sessionmaker[Session]) -> None:
    """Hook sealing into every session the factory makes."""
    event.listen(factory, "before_commit", _seal)
    _KEPT.install(factory)
