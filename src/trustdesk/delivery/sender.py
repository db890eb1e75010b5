"""The worker's side of delivery: claim due outbox rows, post them, record what happened.

Claiming takes due pending rows under a lease in a short transaction; on PostgreSQL it reads
with `FOR UPDATE SKIP LOCKED`, so several workers (on several hosts) share the outbox without
waiting for each other; on SQLite the single writer serialises claims. A row is claimable only
when no older pending row of the same endpoint and subject exists, so one subject's events
reach a receiver in order (a receiver still compares `sequence`, since a row can go dead and a
retried one can arrive late). The posts happen outside any transaction, a few at once.

A 2xx answer delivers the row. Anything else (another status, a timeout, a refused connection,
a URL httpx cannot send to) is retried after 5 s, 30 s, 2 min, 10 min, then hourly, each with
±20% jitter so a receiver coming back is not hit by every sender at the same second, until a day
has passed since the row was written: then a last failure makes it dead (audited), for an admin
to retry or cancel. A sender that dies mid-post leaves its rows to be claimed again when the
lease ends: delivery is at least once, and the `webhook-id` lets the receiver drop the repeat.
A delivered `notice.requested` row marks its notice sent; a dead one marks it failed.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import orjson
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from trustdesk.audit.log import Actor, record
from trustdesk.delivery.outbox import DEAD, DELIVERED, PENDING
from trustdesk.delivery.signing import SecretBox, sign
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.notices.states import settle
from trustdesk.store.database import Database
from trustdesk.store.models import OutboxMessage, WebhookEndpoint, utcnow

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (5, 30, 120, 600)
HOURLY = 3600
JITTER = 0.2
RETRY_WINDOW = timedelta(hours=24)
TIMEOUT_SECONDS = 10.0
BATCH = 32
PARALLEL = 8
# Long enough for a whole batch of timeouts: BATCH / PARALLEL rounds of TIMEOUT_SECONDS, and room.
LEASE = timedelta(seconds=120)
# A run hands the worker back after this long, so its other jobs get their turn.
RUN_BUDGET_SECONDS = 20.0
MAX_ERROR = 500
SENDER = Actor("system", "webhook-sender")


def retry_delay(attempts: int, rng: random.Random) -> timedelta:
    """The wait after the `attempts`-th failure: 5 s, 30 s, 2 min, 10 min, then hourly, ±20%."""
    base = BACKOFF_SECONDS[attempts - 1] if attempts <= len(BACKOFF_SECONDS) else HOURLY
    return timedelta(seconds=base * rng.uniform(1 - JITTER, 1 + JITTER))


@dataclass(frozen=True)
class Claimed:
    id: int
    webhook_id: str
    url: str
    key: bytes
    body: bytes


@dataclass(frozen=True)
class Outcome:
    id: int
    status: int | None  # None: no answer (timeout, connection refused)
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def claim_due(db: Database, box: SecretBox, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Take up to `limit` due rows (at most one per endpoint and subject) under a lease."""
    older = aliased(OutboxMessage)
    held_back = exists().where(
        older.endpoint_id == OutboxMessage.endpoint_id, older.subject_id == OutboxMessage.subject_id,
        older.state == PENDING, older.id < OutboxMessage.id,
    )
    query = (
        select(OutboxMessage, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == OutboxMessage.endpoint_id)
        .where(
            OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now), ~held_back,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    keys: dict[int, bytes] = {}
    claimed: list[Claimed] = []
    with db.session() as session:
        for row, endpoint in session.execute(query).all():
            row.claimed_until = now + LEASE
            row.attempts += 1
            if endpoint.id not in keys:
                keys[endpoint.id] = box.open(endpoint.secret_encrypted)
            claimed.append(Claimed(row.id, row.webhook_id, endpoint.url, keys[endpoint.id], orjson.dumps(row.payload)))
    return claimed


def post(client: httpx.Client, item: Claimed, timeout: float = TIMEOUT_SECONDS) -> Outcome:
    """One attempt, signed now: receivers refuse old timestamps, so a retry is never a replay.

    Whatever sending raises is this row's failure: the posts of a batch are gathered together,
    so an exception let through would lose every other row's outcome with it.
    """
    headers = sign(item.key, item.webhook_id, int(time.time()), item.body) | {"content-type": "application/json"}
    try:
        answer = client.post(item.url, content=item.body, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return Outcome(item.id, None, f"no answer within {timeout:g} s")
    except Exception as exc:  # noqa: BLE001 - besides httpx.HTTPError: InvalidURL, idna's UnicodeError, ...
        return Outcome(item.id, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    error = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}: {answer.text[:200]}"
    return Outcome(item.id, answer.status_code, error)


def record_outcomes(db: Database, outcomes: list[Outcome], now: datetime, rng: random.Random) -> None:
    """Delivered, due again after a backoff, or dead once the retry window has passed."""
    with db.session() as session:
        for outcome in outcomes:
            row = session.get(OutboxMessage, outcome.id, with_for_update=True)
            if row is None or row.state != PENDING:  # cancelled while in flight
                continue
            row.claimed_until, row.last_status = None, outcome.status
            if outcome.delivered:
                row.state, row.delivered_at, row.last_error = DELIVERED, now, None
                if row.notice_id is not None:
                    settle(session, row.notice_id, sent=True)
                continue
            row.last_error = outcome.error
            give_up_at = row.created_at + RETRY_WINDOW
            if now >= give_up_at:
                _dead(session, row)
            else:
                row.next_attempt_at = min(now + retry_delay(row.attempts, rng), give_up_at)


def _dead(session: Session, row: OutboxMessage) -> None:
    row.state = DEAD
    record(session, actor=SENDER, verb="webhook_delivery.dead", object_type="webhook_delivery", object_id=row.id,
           before={"state": PENDING}, after={"state": DEAD, "webhook_id": row.webhook_id, "action_id": row.action_id,
                                              "attempts": row.attempts, "last_error": row.last_error})
    if row.notice_id is not None:
        settle(session, row.notice_id, sent=False, error=f"the host platform did not take it: {row.last_error}")


def deliver_due(
    db: Database, box: SecretBox, *, now: Callable[[], datetime] = utcnow, client: httpx.Client | None = None,
    timeout: float = TIMEOUT_SECONDS, budget_seconds: float = RUN_BUDGET_SECONDS, rng: random.Random | None = None,
) -> int:
    """Deliver batches until nothing is due or the budget is spent; returns how many attempts were made.

    `now` is the clock the outbox is read and written with (tests pass a fake one); signatures
    always carry the real time, as receivers check it against theirs.
    """
    rng = rng or random.Random()
    started, attempts = time.monotonic(), 0

    def next_batch() -> list[Claimed]:
        return claim_due(db, box, now()) if time.monotonic() - started < budget_seconds else []

    batch = next_batch()
    if not batch:  # most runs (twice a second): no client is made, its TLS set-up alone costs ~35 ms of CPU
        return 0
    own_client = client is None
    client = client or httpx.Client(follow_redirects=False)
    try:
        with ThreadPoolExecutor(PARALLEL, thread_name_prefix="webhook") as pool:
            while batch:
                outcomes = list(pool.map(lambda item: post(client, item, timeout), batch))
                record_outcomes(db, outcomes, now(), rng)
                attempts += len(outcomes)
                failed = [o for o in outcomes if not o.delivered]
                if failed:
                    log.info("webhook deliveries failed", extra={"failed": len(failed), "of": len(outcomes), "error": failed[0].error})
                batch = next_batch()
    finally:
        if own_client:
            client.close()
    return attempts


@dataclass(frozen=True)
class DeliverWebhooks:
    """The recurring delivery run (no fields: it takes whatever is due)."""


# Two copies: two workers can deliver at once, sharing the outbox through SKIP LOCKED.
@job_kind("deliver_webhooks", DeliverWebhooks, every=timedelta(seconds=1), copies=2)
def deliver_webhooks(ctx: WorkerContext, _job: DeliverWebhooks) -> None:
    deliver_due(ctx.db, SecretBox(ctx.settings.secret_key))
