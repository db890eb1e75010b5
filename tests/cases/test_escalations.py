"""Escalations move the case itself to its tier's queue and back; new reports keep it there; the
SLA sweep hands cases nearing breach to the senior tier with a raised priority; API filings are
idempotent even when sent at the same moment."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.cases.factories import SETUP, reviewer
from tests.concurrency import together
from tests.conftest import Api
from trustdesk.audit.verify import verify_chain
from trustdesk.cases import claiming, escalations, sla
from trustdesk.cases.access import visible_case
from trustdesk.cases.escalations import EscalationRequest
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.store import counters
from trustdesk.store.models import AuditEvent, Case, Escalation, Queue, Report, utcnow


def _world(api: Api, settings: Settings) -> dict[str, Any]:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        people = {name: reviewer(s, settings, name, roles) for name, roles in
                  {"mod": ["moderator"], "legal": ["legal"], "sen": ["senior"]}.items()}
    r = api.post("/api/v1/subjects/batch", {"items": [{"external_id": f"post-{n}", "kind": "post", "text": "x"} for n in range(3)]})
    assert r.status_code == 200, r.text
    r = api.post("/api/v1/reports", {"external_id": "r0", "subject_external_id": "post-0", "policy_code": "SPAM", "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with api.db.reader() as s:
        case_id = s.get_one(Report, r.json()["id"]).case_id
        queues = {q.tier or q.name: q.id for q in s.execute(select(Queue)).scalars()}
    return {"case": case_id, "queues": queues, **people}


def _escalate(api: Api, who: Any, case_id: int, tier: str, **extra: Any) -> Escalation:
    with api.db.session() as s:
        escalation = escalations.escalate(s, SETUP, who, case_id, EscalationRequest(tier, "needs a lawyer's eye", **extra))
        s.flush()
        s.expunge(escalation)
        return escalation


def test_escalating_moves_the_case_to_the_tier_queue_out_of_the_moderators_sight(api: Api, settings: Settings) -> None:
    w = _world(api, settings)
    with api.db.session() as s:
        s.execute(update(Case).where(Case.id == w["case"]).values(claimed_by=w["mod"].id, lease_until=utcnow() + timedelta(minutes=5),
                                                                  assigned_to=w["mod"].id))
        before = s.get_one(Case, w["case"])
        score, general = before.priority_score, before.queue_id
    escalation = _escalate(api, w["mod"], w["case"], "legal", urgency="critical")
    assert (escalation.tier, escalation.status, escalation.from_queue_id) == ("legal", "open", general)
    with api.db.session() as s:
        case = s.get_one(Case, w["case"])
        legal_queue = s.get_one(Queue, w["queues"]["legal"])
        assert (case.queue_id, case.tier, case.kind, case.status) == (legal_queue.id, "legal", "report", "open")
        assert (case.claimed_by, case.lease_until, case.assigned_to) == (None, None, None)
        assert case.priority_score == score + 200 and case.band == "P0" and case.priority_reasons["escalation"] == 200
        assert abs((case.due_at - utcnow()).total_seconds() / 60 - legal_queue.sla_minutes["P0"]) < 2
        with pytest.raises(NotFound):
            visible_case(s, w["mod"], w["case"])
        assert visible_case(s, w["legal"], w["case"]).id == w["case"]
        assert claiming.next_case(s, w["mod"]).case is None  # the only case left the moderator's queues
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "case", AuditEvent.object_id == str(w["case"]))
                          .order_by(AuditEvent.id)).scalars().all()
        assert verbs[-1] == "case.escalated"
        assert counters.check(s) == [] and verify_chain(s).ok


def test_escalating_on_and_back_returns_to_the_routed_queue_with_a_note(api: Api, settings: Settings) -> None:
    w = _world(api, settings)
    with api.db.reader() as s:
        start = s.get_one(Case, w["case"])
        general, score = start.queue_id, start.priority_score
    _escalate(api, w["mod"], w["case"], "senior", urgency="high")
    with pytest.raises(Conflict) as again:
        _escalate(api, w["sen"], w["case"], "senior")
    assert again.value.field == "tier"
    moved_on = _escalate(api, w["sen"], w["case"], "legal", urgency="normal")
    assert moved_on.from_queue_id == general  # back to where the first escalation came from
    with api.db.session() as s, pytest.raises(NotFound):
        escalations.de_escalate(s, SETUP, w["mod"], w["case"], "fine")  # the moderator cannot see it
    with api.db.session() as s, pytest.raises(FieldError) as no_note:
        escalations.de_escalate(s, SETUP, w["legal"], w["case"], "  ")
    assert no_note.value.field == "note"
    with api.db.session() as s:
        escalations.de_escalate(s, SETUP, w["legal"], w["case"], "no legal question here")
    with api.db.reader() as s:
        case = s.get_one(Case, w["case"])
        assert (case.queue_id, case.tier, case.priority_score) == (general, None, score)
        assert "escalation" not in case.priority_reasons
        rows = [(e.tier, e.status, e.de_escalation_note) for e in s.execute(select(Escalation).order_by(Escalation.id)).scalars()]
        assert rows == [("senior", "moved", "moved on to the legal tier"), ("legal", "de_escalated", "no legal question here")]
        assert visible_case(s, w["mod"], w["case"]).id == w["case"]
        assert counters.check(s) == []
    with api.db.session() as s, pytest.raises(Conflict):
        escalations.de_escalate(s, SETUP, w["legal"], w["case"], "again")


@pytest.mark.parametrize(("extra", "field"), [
    ({}, "authorities_notified"),
    ({"authorities_notified": True}, "authorities_notified_at"),
    ({"authorities_notified": False, "authorities_notified_at": datetime(2026, 1, 1, tzinfo=timezone.utc)}, "authorities_notified_at"),
    ({"authorities_notified": True, "authorities_notified_at": utcnow() + timedelta(hours=1)}, "authorities_notified_at"),
])
def test_an_imminent_harm_escalation_records_whether_and_when_the_authorities_were_told(
    api: Api, settings: Settings, extra: dict[str, Any], field: str,
) -> None:
    w = _world(api, settings)
    with pytest.raises(FieldError) as refused:
        _escalate(api, w["mod"], w["case"], "imminent_harm", **extra)
    assert refused.value.field == field
    with pytest.raises(FieldError) as other_tier:
        _escalate(api, w["mod"], w["case"], "legal", authorities_notified=True)
    assert other_tier.value.field == "authorities_notified"
    told = datetime.now(timezone.utc) - timedelta(minutes=5)
    escalation = _escalate(api, w["mod"], w["case"], "imminent_harm", authorities_notified=True, authorities_notified_at=told)
    assert escalation.authorities_notified is True and escalation.authorities_notified_at == told


def test_new_reports_on_an_escalated_case_keep_it_at_its_tier(api: Api, settings: Settings) -> None:
    w = _world(api, settings)
    _escalate(api, w["mod"], w["case"], "legal", urgency="high")
    r = api.post("/api/v1/reports", {"external_id": "r1", "subject_external_id": "post-0", "policy_code": "VIOLENT_THREATS",
                                     "reporter_type": "anonymous", "imminent_harm": True})
    assert r.status_code == 201, r.text
    with api.db.session() as s:
        case = s.get_one(Case, w["case"])
        assert s.get_one(Report, r.json()["id"]).case_id == case.id
        assert (case.queue_id, case.tier, case.report_count, case.band) == (w["queues"]["legal"], "legal", 2, "P0")
        assert case.priority_reasons["escalation"] == 50 and case.imminent_harm
        flagged = escalations.open_escalation(s, case.id)
        assert flagged is not None and flagged.tier == "legal"


def test_the_sla_sweep_hands_cases_nearing_breach_to_the_senior_tier_with_a_raised_priority(api: Api, settings: Settings) -> None:
    w = _world(api, settings)
    with api.db.session() as s:
        s.execute(update(Queue).where(Queue.name == "General").values(escalate_minutes_before_breach=30))
        s.execute(update(Case).where(Case.id == w["case"]).values(due_at=utcnow() + timedelta(minutes=10)))
        score = s.get_one(Case, w["case"]).priority_score
    assert sla.sweep(api.db).escalated == 1
    assert sla.sweep(api.db).escalated == 0  # once
    with api.db.reader() as s:
        case = s.get_one(Case, w["case"])
        assert (case.queue_id, case.tier, case.priority_score) == (w["queues"]["senior"], "senior", score + 50)
        assert case.band in ("P0", "P1")
        escalation = s.execute(select(Escalation)).scalar_one()
        assert (escalation.tier, escalation.urgency, escalation.escalated_by) == ("senior", "high", "sla")
        assert escalation.reason == "nearing SLA breach in General"
        assert counters.check(s) == []


def _filing(n: int, subject: str = "post-1", **changes: Any) -> dict[str, Any]:
    return {"external_id": f"cx-{n}", "subject_external_id": subject, "policy_code": "SPAM", "requester_ref": "ticket-77",
            "tier": "escalations", "reason": "the user wrote to support twice", "urgency": "high"} | changes


def test_filings_sent_at_the_same_moment_store_one_escalation(api: Api, settings: Settings) -> None:
    if api.db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; the race is on PostgreSQL")
    _world(api, settings)
    answers: list[Any] = [None] * 8

    def one(n: int) -> None:
        answers[n] = api.post("/api/v1/escalations", _filing(1))

    together([lambda n=n: one(n) for n in range(8)])
    assert Counter(a.status_code for a in answers) == {201: 1, 200: 7}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    with api.db.reader() as s:
        assert s.execute(select(func.count(Escalation.id))).scalar_one() == 1
        assert s.execute(select(func.count(Case.id)).where(Case.kind == "escalation")).scalar_one() == 1
        assert verify_chain(s).ok and counters.check(s) == []
