"""Events for the host platform, written in the transaction of the change they announce.

`announce` is called by enforcement for every action applied, reversed or expired: it gives
the event the subject's next sequence number and adds one row per active endpoint of the
subject's app, each with its own `webhook-id` (the receiver's idempotency key). An app with no
endpoint gets no rows. The envelope is fixed when the event is written; only the signature
changes from one attempt to the next.

Envelope: `{"type", "timestamp", "data"}`; `data` has `action_id`, `decision_id`, `action`
(the kind), `subject` `{"kind", "external_id"}`, `policy_code`, `ends_at` (timed actions),
`statement_of_reasons_id` (the restricting action's statement; null for the others), `sequence`, `cascade_of` and
`params` (`days`, `label`). A `notice.requested` event (`announce_notice`) carries `notice_id`,
`kind`, `recipient` `{"role", and "subject_external_id" | "report_external_id" |
"requester_ref"}`, `locale`, `subject_line`, `body`, `subject`, `decision_id`,
`statement_of_reasons_id` and `sequence`: the host platform sends the text as it is. An
`evaluation.batch_completed` event (`announce_batch`) carries `batch_id`, `item_count`,
`verdicts` (counted by verdict), `errors` and `sequence`. A `privacy.erasure_completed` event
(`announce_erasure`) carries `privacy_request_id`, `external_id` (the platform's id for the
request, if it filed it), `subject`, `erased` and `retained` (external ids; never the hold or its
basis, which must not reach the person) and `sequence`.

A row is `pending` until delivered, `dead` after a day of failures, or `cancelled` (by an
admin, or when its endpoint is removed); a dead or cancelled row can be retried, which makes
it pending and due at once. Dead-lettering, retries and cancels are audited; the attempts
themselves are plumbing, like jobs.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, restricted_subjects
from trustdesk.domain.action_types import action_type
from trustdesk.domain.errors import Conflict, NotFound
from trustdesk.enforcement import statements
from trustdesk.notices.states import settle
from trustdesk.store.dialects import conflict_insert, dialect_name
from trustdesk.store.models import (
    App,
    Decision,
    EnforcementAction,
    Notice,
    OutboxMessage,
    Subject,
    SubjectSequence,
    WebhookEndpoint,
    utcnow,
)

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
STATES = (PENDING, DELIVERED, DEAD, CANCELLED)
ENDPOINTS_CACHE = "webhook_endpoints"


class EventType(StrEnum):
    ACTION_APPLIED = "action.applied"
    ACTION_REVERSED = "action.reversed"
    ACTION_EXPIRED = "action.expired"
    NOTICE_REQUESTED = "notice.requested"  # a notice for the host platform to send to a person
    EVALUATION_BATCH_COMPLETED = "evaluation.batch_completed"  # a batch of synchronous checks is done
    PRIVACY_ERASURE_COMPLETED = "privacy.erasure_completed"  # a person's data erased, save what a hold keeps


def iso(moment: datetime | None) -> str | None:
    """UTC, with milliseconds and `Z`, as the API writes times."""
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def next_sequence(session: Session, subject_id: int) -> int:
    """The subject's next event number: an upsert, so concurrent writers each get their own."""
    return int(session.execute(_next_sequence(dialect_name(session)), {"subject_id": subject_id}).scalar_one())


@functools.cache
def _next_sequence(dialect: str) -> Any:
    """Built once per dialect: every event asks (building and caching the statement cost more than running it)."""
    table = SubjectSequence.__table__
    statement = conflict_insert(dialect, table).values(subject_id=bindparam("subject_id"), last=1)
    statement = statement.on_conflict_do_update(index_elements=["subject_id"], set_={"last": table.c.last + 1})
    return statement.returning(table.c.last)


_ACTIVE_ENDPOINTS = (select(WebhookEndpoint.id).where(WebhookEndpoint.app_id == bindparam("app_id"), WebhookEndpoint.active.is_(True))
                     .order_by(WebhookEndpoint.id))  # built once: every decision asks


def _endpoints(session: Session, app_id: int) -> list[int]:
    """The app's active endpoints, looked up once per transaction (a cascade announces thousands)."""
    cache: dict[int, list[int]] = session.info.setdefault(ENDPOINTS_CACHE, {})
    if app_id not in cache:
        cache[app_id] = list(session.execute(_ACTIVE_ENDPOINTS, {"app_id": app_id}).scalars())
    return cache[app_id]


def announce(session: Session, event_type: EventType, action: EnforcementAction, *, now: datetime | None = None,
             stored: Mapping[int, int] | None = None) -> int:
    """Queue the event for every endpoint of the action's app; returns how many rows were written.

    `stored` is the statements of reasons of actions applied in this transaction, statement id
    by action id, complete for them (an action missing from it has none); without it the
    action's statement is looked up."""
    subject = session.get_one(Subject, action.subject_id)
    if not _endpoints(session, subject.app_id):
        return 0  # nobody to tell: skip looking up what the event would say (a cascade announces thousands)
    decision = session.get(Decision, action.decision_id) if action.decision_id else None
    return _queue_event(session, event_type, subject, {
        "action_id": action.id,
        "decision_id": action.decision_id,
        "action": action.kind,
        "subject": {"kind": subject.kind, "external_id": subject.external_id},
        "policy_code": decision.policy_code if decision else None,
        "ends_at": iso(action.ends_at),
        "statement_of_reasons_id": stored.get(action.id) if stored is not None else _statement_id(session, action),
        "cascade_of": action.cascade_of,
        "params": {k: action.params[k] for k in action_type(action.kind).params if k in action.params},
    }, action_id=action.id, now=now)


def announce_notice(session: Session, notice: Notice, recipient: dict[str, Any], *, now: datetime | None = None) -> int:
    """Hand a notice to the host platform to send (`notice.requested`): who it is for
    (`recipient`: the role and the reference the platform knows them by), in which locale, and
    its rendered text; returns how many rows were written (none: the app has no endpoint)."""
    subject = session.get_one(Subject, notice.subject_id)
    return _queue_event(session, EventType.NOTICE_REQUESTED, subject, {
        "notice_id": notice.id,
        "kind": notice.kind,
        "recipient": recipient,
        "locale": notice.locale,
        "subject_line": notice.subject_line,
        "body": notice.body,
        "subject": {"kind": subject.kind, "external_id": subject.external_id},
        "decision_id": notice.decision_id,
        "statement_of_reasons_id": notice.statement_of_reasons_id,
    }, notice_id=notice.id, now=now)


def announce_batch(session: Session, batch_id: int, subject: Subject, summary: dict[str, Any], *, now: datetime | None = None) -> int:
    """Tell the host platform a batch of checks is done; the results are read from the API.
    Numbered in the sequence of `subject`, the batch's first one checked."""
    return _queue_event(session, EventType.EVALUATION_BATCH_COMPLETED, subject, {"batch_id": batch_id, **summary}, now=now)


def announce_erasure(session: Session, subject: Subject, summary: dict[str, Any], *, now: datetime | None = None) -> int:
    """Tell the host platform a privacy erasure is done and what a legal hold kept, numbered in
    the sequence of `subject`, the person's account."""
    data = {"subject": {"kind": subject.kind, "external_id": subject.external_id}, **summary}
    return _queue_event(session, EventType.PRIVACY_ERASURE_COMPLETED, subject, data, now=now)


def _queue_event(
    session: Session, event_type: EventType, subject: Subject, data: dict[str, Any], *,
    action_id: int | None = None, notice_id: int | None = None, now: datetime | None = None,
) -> int:
    """One row per active endpoint of the subject's app, numbered in the subject's sequence."""
    endpoints = _endpoints(session, subject.app_id)
    if not endpoints:
        return 0
    now = now or utcnow()
    sequence = next_sequence(session, subject.id)
    envelope = {"type": event_type.value, "timestamp": iso(now), "data": data | {"sequence": sequence}}
    # Written at once on the connection (nothing in the transaction reads them back as objects):
    # a flush of the unit of work for them cost more than the INSERT. What they refer to goes first.
    session.flush()
    session.connection().execute(_ADD_MESSAGES, [
        {"endpoint_id": endpoint_id, "webhook_id": f"msg_{secrets.token_hex(12)}", "event_type": event_type.value,
         "action_id": action_id, "notice_id": notice_id, "subject_id": subject.id, "sequence": sequence, "payload": envelope,
         "state": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
        for endpoint_id in endpoints
    ])
    return len(endpoints)


_ADD_MESSAGES = insert(OutboxMessage.__table__)  # built once: every event


def _statement_id(session: Session, action: EnforcementAction) -> int | None:
    """The statement of reasons stored for a restricting action (None for the others)."""
    statement = statements.of_action(session, action.id) if action_type(action.kind).restriction else None
    return statement.id if statement else None


# --- the dead-letter list -------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    id: int
    webhook_id: str
    endpoint_id: int
    app: str
    url: str
    event_type: str
    action_id: int | None
    subject_id: int
    subject_external_id: str
    sequence: int
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


def _views(session: Session, query: Any) -> list[DeliveryView]:
    rows = session.execute(
        query.add_columns(WebhookEndpoint.url, App.slug, Subject.external_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == OutboxMessage.endpoint_id)
        .join(App, App.id == WebhookEndpoint.app_id)
        .join(Subject, Subject.id == OutboxMessage.subject_id)
    ).all()
    return [
        DeliveryView(
            m.id, m.webhook_id, m.endpoint_id, slug, url, m.event_type, m.action_id, m.subject_id, external_id, m.sequence,
            m.state, m.attempts, m.next_attempt_at if m.state == PENDING else None, m.last_status, m.last_error,
            m.delivered_at, m.created_at,
        )
        for m, url, slug, external_id in rows
    ]


def deliveries(
    session: Session, reviewer: Reviewer, *, state: str | None = None, action_ids: list[int] | None = None,
    limit: int = 100, before: int | None = None,
) -> list[DeliveryView]:
    """Deliveries newest first, by state or for some actions, leaving out those about subjects
    the reviewer may not see (need-to-know)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    if action_ids is not None:
        query = query.where(OutboxMessage.action_id.in_(action_ids))
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    found = _views(session, query)
    hidden = restricted_subjects(session, reviewer, list({d.subject_id for d in found}))
    return [d for d in found if d.subject_id not in hidden]


def _visible_row(session: Session, reviewer: Reviewer, delivery_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, delivery_id, with_for_update=True)
    if row is None or restricted_subjects(session, reviewer, [row.subject_id]):
        raise NotFound("delivery_id", f"no delivery {delivery_id}")
    return row


def retry(session: Session, actor: Actor, reviewer: Reviewer, delivery_id: int) -> OutboxMessage:
    """Send a dead or cancelled delivery again, now, with a fresh day of retries."""
    row = _visible_row(session, reviewer, delivery_id)
    if row.state not in (DEAD, CANCELLED):
        raise Conflict("delivery_id", f"delivery {delivery_id} is {row.state}; only dead or cancelled ones are retried")
    endpoint = session.get_one(WebhookEndpoint, row.endpoint_id)
    if not endpoint.active:
        raise Conflict("delivery_id", f"its endpoint {endpoint.id} was removed; add it again to deliver there")
    before = row.state
    now = utcnow()
    row.state, row.next_attempt_at, row.created_at, row.claimed_until = PENDING, now, now, None
    record(session, actor=actor, verb="webhook_delivery.retried", object_type="webhook_delivery", object_id=row.id,
           before={"state": before}, after={"state": PENDING, "webhook_id": row.webhook_id, "action_id": row.action_id})
    return row


def cancel(session: Session, actor: Actor, reviewer: Reviewer, delivery_id: int) -> OutboxMessage:
    """Give up on a dead or pending delivery: it stays on record, cancelled."""
    row = _visible_row(session, reviewer, delivery_id)
    if row.state not in (DEAD, PENDING):
        raise Conflict("delivery_id", f"delivery {delivery_id} is {row.state}; only dead or pending ones are cancelled")
    before = row.state
    row.state, row.claimed_until = CANCELLED, None
    record(session, actor=actor, verb="webhook_delivery.cancelled", object_type="webhook_delivery", object_id=row.id,
           before={"state": before}, after={"state": CANCELLED, "webhook_id": row.webhook_id, "action_id": row.action_id})
    if row.notice_id is not None:
        settle(session, row.notice_id, sent=False, error=f"its delivery to the host platform was cancelled by {actor.label}")
    return row


def delivery(session: Session, reviewer: Reviewer, delivery_id: int) -> DeliveryView:
    found = _views(session, select(OutboxMessage).where(OutboxMessage.id == delivery_id))
    if not found or restricted_subjects(session, reviewer, [found[0].subject_id]):
        raise NotFound("delivery_id", f"no delivery {delivery_id}")
    return found[0]


# --- delivery state of a case's actions -----------------------------------------------------

CASE_ACTIONS_SHOWN = 200


@dataclass(frozen=True)
class ActionDelivery:
    action: EnforcementAction
    subject_external_id: str
    counts: dict[str, int]  # delivery state → rows (every endpoint, every event of the action)

    @property
    def summary(self) -> str:
        """`delivered`, `pending`, `dead` … as the worst state any delivery is in; `none` without endpoints."""
        for state in (DEAD, PENDING, DELIVERED, CANCELLED):
            if self.counts.get(state):
                return state
        return "none"


def case_actions(session: Session, case_id: int) -> list[ActionDelivery]:
    """The actions a case's decisions applied (cascades included), each with its delivery state."""
    rows = session.execute(
        select(EnforcementAction, Subject.external_id)
        .join(Decision, Decision.id == EnforcementAction.decision_id)
        .join(Subject, Subject.id == EnforcementAction.subject_id)
        .where(Decision.case_id == case_id)
        .order_by(EnforcementAction.id)
        .limit(CASE_ACTIONS_SHOWN)
    ).all()
    counts = state_counts(session, [action.id for action, _ in rows])
    return [ActionDelivery(action, external_id, counts.get(action.id, {})) for action, external_id in rows]


def state_counts(session: Session, action_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    if action_ids:
        for action_id, state, count in session.execute(
            select(OutboxMessage.action_id, OutboxMessage.state, func.count())
            .where(OutboxMessage.action_id.in_(action_ids)).group_by(OutboxMessage.action_id, OutboxMessage.state)
        ):
            counts.setdefault(action_id, {})[state] = count
    return counts
