"""Queues as configured data: routing expression, SLA per band, who may work them.

A queue's routing expression is CEL over `ROUTING_SCHEMA`, checked when it is saved, so a
broken expression never reaches intake. Queues are tried in `position` order and the first
match wins; the default queue takes everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.priority import Band
from trustdesk.domain.vocabulary import CaseTier, Role
from trustdesk.rules.expressions import ExpressionError, Schema, compile_expression
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Queue, utcnow
from trustdesk.store.unique_names import claimed

ROUTING_SCHEMA = Schema(
    {
        "report": {"policy": str, "source": str, "text": str, "imminent_harm": bool},
        "subject": {"kind": str, "language": str, "country": str, "app": str},
        "policy": {"code": str, "severity": int, "graphic": bool},
        "signals": [{"analyser": str, "label": str, "score": float, "match": str}],
    }
)
DEFAULT_SLA_MINUTES = {Band.P0: 60, Band.P1: 240, Band.P2: 1440, Band.P3: 4320}
# The bounds of a queue's numbers, checked when it is saved. Longer than a year is a typing
# mistake, and far longer overflows the date arithmetic of the SLA sweep.
MAX_SLA_MINUTES = 366 * 24 * 60
MAX_POSITION = 1_000_000
MAX_EXPOSURE_PER_HOUR = 3600


class QueueError(FieldError):
    """A queue that cannot be saved as given (422); `field` names the setting at fault."""


@dataclass
class QueueSpec:
    """What an admin sets on a queue (console form or API body)."""

    name: str
    routing_expression: str | None = None
    position: int = 100
    is_default: bool = False
    sla_minutes: dict[str, int] = field(default_factory=lambda: {b.value: m for b, m in DEFAULT_SLA_MINUTES.items()})
    required_roles: list[str] = field(default_factory=list)
    required_languages: list[str] = field(default_factory=list)
    graphic: bool = False
    exposure_limit_per_hour: int | None = None
    escalate_minutes_before_breach: int | None = None
    escalation_queue: str | None = None
    active: bool = True
    # Set only when a tier queue is made (`tier_queue`); an admin's edit leaves a queue's tier as it is.
    tier: CaseTier | None = None


def _validate(session: Session, spec: QueueSpec, own_id: int | None) -> dict[str, Any]:
    if not spec.name.strip() or len(spec.name) > 100:
        raise QueueError("name", "must be 1–100 characters")
    if spec.routing_expression:
        try:
            compile_expression(spec.routing_expression, ROUTING_SCHEMA, condition=True)
        except ExpressionError as exc:
            raise QueueError("routing_expression", str(exc)) from exc
    elif not spec.is_default and not _is_tier_queue(session, spec, own_id):
        raise QueueError("routing_expression", "required unless this is the default queue")
    if _is_tier_queue(session, spec, own_id) and (spec.routing_expression or spec.is_default):
        raise QueueError("routing_expression", "a tier queue takes cases by escalation only: no routing, not the default")
    missing = [b.value for b in Band if not _within(spec.sla_minutes.get(b.value), 1, MAX_SLA_MINUTES)]
    if missing:
        raise QueueError("sla_minutes", f"between 1 and {MAX_SLA_MINUTES} minutes are needed for {', '.join(missing)}")
    bad_roles = [r for r in spec.required_roles if r not in {role.value for role in Role}]
    if bad_roles:
        raise QueueError("required_roles", f"unknown roles {', '.join(bad_roles)}")
    for name, low, high in (
        ("position", 0, MAX_POSITION),
        ("exposure_limit_per_hour", 1, MAX_EXPOSURE_PER_HOUR),
        ("escalate_minutes_before_breach", 1, MAX_SLA_MINUTES),
    ):
        value = getattr(spec, name)
        if (value is not None or name == "position") and not _within(value, low, high):
            raise QueueError(name, f"must be a whole number from {low} to {high}")
    escalation_id = None
    if spec.escalation_queue:
        escalation_id = session.execute(select(Queue.id).where(Queue.name == spec.escalation_queue)).scalar()
        if escalation_id is None or escalation_id == own_id:
            raise QueueError("escalation_queue", f"no other queue named {spec.escalation_queue!r}")
    return {
        "name": spec.name.strip(), "routing_expression": spec.routing_expression or None, "position": spec.position,
        "is_default": spec.is_default, "sla_minutes": {b.value: spec.sla_minutes[b.value] for b in Band},
        "required_roles": sorted(spec.required_roles), "required_languages": sorted(spec.required_languages),
        "graphic": spec.graphic, "exposure_limit_per_hour": spec.exposure_limit_per_hour,
        "escalate_minutes_before_breach": spec.escalate_minutes_before_breach, "escalation_queue_id": escalation_id,
        "active": spec.active,
    }


def _is_tier_queue(session: Session, spec: QueueSpec, own_id: int | None) -> bool:
    """A tier queue is made with its tier and keeps it: editing one never changes its tier."""
    return spec.tier is not None or (own_id is not None and session.execute(select(Queue.tier).where(Queue.id == own_id)).scalar() is not None)


def _within(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def save_queue(session: Session, actor: Actor, spec: QueueSpec, queue_id: int | None = None) -> Queue:
    """Create or update a queue after checking it; one default queue at a time (the last one saved)."""
    queue = session.get(Queue, queue_id) if queue_id else Queue()
    if queue is None:
        raise NotFound("queue_id", f"no queue {queue_id}")
    values = _validate(session, spec, queue_id)
    if values["is_default"]:
        # Admins making two queues the default at once take turns: every queue row is locked, in
        # order, and read again, so the second sees the first's default and takes over from it.
        for other in session.execute(select(Queue).order_by(Queue.id).with_for_update()).scalars():
            if other.is_default and other.id != queue_id:
                other.is_default = False
    before = _snapshot(queue) if queue_id else None
    with claimed(session, QueueError("name", f"a queue named {values['name']!r} exists")):
        for name, value in values.items():
            setattr(queue, name, value)
        queue.updated_at = utcnow()
        session.add(queue)
    record(session, actor=actor, verb="queue.saved", object_type="queue", object_id=queue.id, before=before, after=_snapshot(queue))
    return queue


FALLBACK = QueueSpec("General", None, position=1000, is_default=True)


def fallback_queue(session: Session, actor: Actor) -> Queue:
    """The queue reports go to when no active queue is the default, so none is left without
    one: the queue named like `FALLBACK`, created if missing. First reports arriving together
    create it once: the insert skips the name if another transaction took it meanwhile, and
    the default if an admin made another queue the default meanwhile (then that queue)."""
    return _named_or_created(session, actor, FALLBACK)


def _named_or_created(session: Session, actor: Actor, spec: QueueSpec) -> Queue:
    """The queue named like `spec`, inserted if there is none; the insert is skipped if another
    transaction took the name meanwhile or, for a default `spec`, made another queue the
    active default (then that queue)."""
    named = select(Queue).where(Queue.name == spec.name)
    queue = session.execute(named).scalar_one_or_none()
    if queue is not None:
        return queue
    insert = conflict_insert(session, Queue).values(_validate(session, spec, None)).on_conflict_do_nothing()
    created = session.execute(insert.returning(Queue.id)).scalar_one_or_none()
    queue = session.execute(named).scalar_one_or_none()
    if queue is None:
        return session.execute(select(Queue).where(Queue.is_default.is_(True), Queue.active.is_(True))).scalar_one()
    if created is not None:
        record(session, actor=actor, verb="queue.saved", object_type="queue", object_id=queue.id, after=_snapshot(queue))
    return queue


def _snapshot(queue: Queue) -> dict[str, Any]:
    return {
        "name": queue.name, "routing_expression": queue.routing_expression, "position": queue.position,
        "is_default": queue.is_default, "sla_minutes": queue.sla_minutes, "required_roles": queue.required_roles,
        "required_languages": queue.required_languages, "graphic": queue.graphic,
        "exposure_limit_per_hour": queue.exposure_limit_per_hour, "active": queue.active,
    }


def list_queues(session: Session) -> list[Queue]:
    return list(session.execute(select(Queue).order_by(Queue.is_default, Queue.position, Queue.id)).scalars())


# Appeals wait here, never reports: its routing expression matches nothing. Appeals are decided
# by seniors and the escalation desk, on an SLA of days (DSA Art. 20: "timely").
APPEALS = QueueSpec("Appeals", "false", position=5, required_roles=["escalations", "senior"],
                    sla_minutes={"P0": 1440, "P1": 2880, "P2": 4320, "P3": 10080})


def appeals_queue(session: Session, actor: Actor) -> Queue:
    """The queue appeal cases go to: the queue named like `APPEALS`, created if missing (a
    deployment seeded before appeals existed); created once however many appeals arrive together."""
    return _named_or_created(session, actor, APPEALS)


# Law-enforcement and regulatory requests wait here, never reports, for legal staff; each is due
# by its instrument's calendar deadline (`cases.legal_due_at`), not by these band minutes.
LAW_ENFORCEMENT_REQUESTS = QueueSpec("Law-enforcement requests", "false", position=6, required_roles=["legal"])


def law_enforcement_queue(session: Session, actor: Actor) -> Queue:
    """The queue law-enforcement request cases go to, created the first time one arrives."""
    return _named_or_created(session, actor, LAW_ENFORCEMENT_REQUESTS)


# Privacy requests wait here, never reports; their cases are due on their legal date
# (`Case.legal_due_at`), so the SLA minutes below are never read for them.
PRIVACY = QueueSpec("Privacy requests", "false", position=6, required_roles=["privacy"],
                    sla_minutes={b.value: MAX_SLA_MINUTES for b in Band})


def privacy_queue(session: Session, actor: Actor) -> Queue:
    """The queue privacy requests go to, created when the first one arrives."""
    return _named_or_created(session, actor, PRIVACY)


# Child-safety cases are reviewed within the hour in every band, so that a confirmed case's
# CyberTipline report can be filed within its window (`TRUSTDESK_NCMEC_FILING_HOURS`, 24 by
# default). An admin may change either queue's SLA like any other.
CHILD_SAFETY_SLA = {b.value: 60 for b in Band}

STARTER_QUEUES = (
    APPEALS,
    QueueSpec("Imminent harm", "report.imminent_harm", position=10, required_roles=["escalations", "senior"],
              sla_minutes={"P0": 30, "P1": 30, "P2": 30, "P3": 30}),
    QueueSpec("Child safety", "policy.code in ['CSAM', 'CHILD_GROOMING', 'UNDERAGE_USER']", position=20,
              required_roles=["child-safety"], graphic=True, exposure_limit_per_hour=40, sla_minutes=CHILD_SAFETY_SLA),
    QueueSpec("Graphic content", "policy.graphic", position=30, graphic=True, exposure_limit_per_hour=60),
    QueueSpec("Spanish and Portuguese", "subject.language in ['es', 'pt']", position=40, required_languages=["es", "pt"]),
    QueueSpec("Marketplace", "subject.kind in ['shop', 'listing', 'review']", position=50),
    QueueSpec("General", None, position=1000, is_default=True),
)


def seed_queues(session: Session, actor: Actor) -> int:
    """Give a new deployment a sensible set of queues and one queue per escalation tier;
    existing queues are left alone (tier queues are made when first needed)."""
    if session.execute(select(Queue.id).limit(1)).first():
        return 0
    for spec in STARTER_QUEUES:
        save_queue(session, actor, spec)
    for tier in CaseTier:
        tier_queue(session, actor, tier)
    return len(STARTER_QUEUES) + len(CaseTier)


# Each escalation tier's queue, made the first time it is needed (or by `seed_queues`). Who
# works each tier:
#   senior → seniors; escalations → the escalation desk; legal → legal;
#   child safety → child-safety staff (graphic, with the exposure limit of the routed queue);
#   law-enforcement response → legal, who answer the authorities;
#   imminent harm → the escalation desk and seniors, on a 30-minute SLA in every band;
#   engineering (a tooling or platform fault behind a case) → admins, who run the system.
# An admin may rename a tier queue or change its SLA and roles later; its tier stays.
TIER_QUEUES = {
    CaseTier.SENIOR: QueueSpec("Senior tier", required_roles=["senior"]),
    CaseTier.ESCALATIONS: QueueSpec("Escalations tier", required_roles=["escalations"]),
    CaseTier.LEGAL: QueueSpec("Legal tier", required_roles=["legal"]),
    CaseTier.CHILD_SAFETY: QueueSpec("Child safety tier", required_roles=["child-safety"], graphic=True, exposure_limit_per_hour=40,
                                     sla_minutes=CHILD_SAFETY_SLA),
    CaseTier.LAW_ENFORCEMENT: QueueSpec("Law-enforcement response tier", required_roles=["legal"]),
    CaseTier.IMMINENT_HARM: QueueSpec("Imminent harm tier", required_roles=["escalations", "senior"],
                                      sla_minutes={"P0": 30, "P1": 30, "P2": 30, "P3": 30}),
    CaseTier.ENGINEERING: QueueSpec("Engineering tier", required_roles=["admin"]),
}
TIER_NAMES = {
    CaseTier.SENIOR: "senior", CaseTier.ESCALATIONS: "escalations", CaseTier.LEGAL: "legal",
    CaseTier.CHILD_SAFETY: "child safety", CaseTier.LAW_ENFORCEMENT: "law-enforcement response",
    CaseTier.IMMINENT_HARM: "imminent harm", CaseTier.ENGINEERING: "engineering",
}


def tier_queue(session: Session, actor: Actor, tier: CaseTier) -> Queue:
    """The queue of `tier`, made from `TIER_QUEUES` if there is none yet. Made once however many
    transactions need it together: the insert skips a tier another transaction took meanwhile."""
    named = select(Queue).where(Queue.tier == tier.value)
    queue = session.execute(named).scalar_one_or_none()
    if queue is not None:
        return queue
    spec = TIER_QUEUES[tier]
    values = _validate(session, QueueSpec(**{**spec.__dict__, "tier": tier}), None) | {"tier": tier.value, "position": 5}
    # Skipped if another transaction made the tier's queue meanwhile, or if its name is taken.
    created = session.execute(conflict_insert(session, Queue).values(values).on_conflict_do_nothing().returning(Queue.id)).scalar_one_or_none()
    queue = session.execute(named).scalar_one_or_none()
    if queue is None:  # an admin gave another queue the tier queue's name
        raise Conflict("tier", f"the {TIER_NAMES[tier]} tier has no queue yet and cannot make one: a queue named {spec.name!r} exists")
    if created is not None:
        record(session, actor=actor, verb="queue.saved", object_type="queue", object_id=queue.id, after=_snapshot(queue) | {"tier": tier.value})
    return queue
