"""Reports become cases: grouped by subject, routed by queue expressions, scored, given an SLA."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.cases.factories import SETUP, reviewer
from tests.conftest import Api
from trustdesk.audit.verify import verify_chain
from trustdesk.cases import claiming, routing
from trustdesk.cases.queues import seed_queues
from trustdesk.config import Settings
from trustdesk.store.models import (
    AuditEvent,
    Case,
    CaseSubject,
    NotifierRecord,
    Queue,
    Report,
    Subject,
    as_utc,
    utcnow,
)


def _subjects(api: Api) -> None:
    r = api.post("/api/v1/subjects/batch", {"items": [
        {"external_id": "acc", "kind": "account", "country": "ES", "reach": {"followers": 100_000}},
        {"external_id": "msg-es", "kind": "message", "account_external_id": "acc", "language": "es", "text": "hola"},
        {"external_id": "msg-en", "kind": "message", "account_external_id": "acc", "language": "en", "text": "hi"},
        {"external_id": "shop", "kind": "shop", "account_external_id": "acc"},
        {"external_id": "u1", "kind": "account"}, {"external_id": "u2", "kind": "account"},
    ]})
    assert r.status_code == 200, r.text


def _report(api: Api, ext: str, subject: str, policy: str = "SPAM", **extra: object) -> int:
    body = {"external_id": ext, "subject_external_id": subject, "policy_code": policy, "reporter_type": "anonymous"} | extra
    r = api.post("/api/v1/reports", body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _case_of(api: Api, report_id: int) -> Case:
    with api.db.reader() as s:
        case_id = s.get(Report, report_id).case_id
        assert case_id is not None, "the report was not put into a case"
        return s.get(Case, case_id)


def _seed_queues(api: Api) -> dict[str, int]:
    with api.db.session() as s:
        seed_queues(s, SETUP)
        return {q.name: q.id for q in s.execute(select(Queue)).scalars()}


def test_reports_on_one_subject_share_a_case_and_rescore_it(api: Api) -> None:
    _subjects(api)
    first = _case_of(api, _report(api, "r1", "msg-en"))
    second = _case_of(api, _report(api, "r2", "msg-en", "HATE_SPEECH"))
    assert second.id == first.id
    assert second.report_count == 2 and second.priority_score > first.priority_score
    assert second.priority_reasons["severity"] == 80.0  # the most severe policy among its reports
    with api.db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "case").order_by(AuditEvent.id)).scalars().all()
        assert verbs == ["case.opened", "case.reports_added"]
        assert verify_chain(s).ok


def test_a_report_case_concerns_its_subject_and_sits_at_no_tier(api: Api) -> None:
    _subjects(api)
    cases = {_case_of(api, _report(api, f"r{n}", ext)).id: ext for n, ext in enumerate(("msg-en", "shop", "msg-en"))}
    with api.db.reader() as s:
        linked = s.execute(select(CaseSubject.case_id, Subject.external_id).join(Subject)).all()
        assert sorted(linked) == sorted(cases.items())
        assert {c.tier for c in s.execute(select(Case)).scalars()} == {None}


def test_first_matching_queue_wins_and_the_default_takes_the_rest(api: Api) -> None:
    queues = _seed_queues(api)
    _subjects(api)
    assert _case_of(api, _report(api, "r1", "msg-es")).queue_id == queues["Spanish and Portuguese"]
    assert _case_of(api, _report(api, "r2", "shop", "COUNTERFEIT")).queue_id == queues["Marketplace"]
    assert _case_of(api, _report(api, "r3", "msg-en")).queue_id == queues["General"]
    case = _case_of(api, _report(api, "r4", "u1", "CSAM"))
    assert case.queue_id == queues["Child safety"] and case.band == "P0"  # severity 5


def test_trusted_flaggers_and_imminent_harm_come_first(api: Api) -> None:
    queues = _seed_queues(api)
    _subjects(api)
    anonymous = _case_of(api, _report(api, "r1", "msg-en"))
    flagged = _case_of(api, _report(api, "r2", "u1", reporter_type="trusted_flagger",
                                    dsa={"notifier_name": "Safe Org", "notifier_email": "tf@safe.example"}))
    assert flagged.priority_reasons["notifier"] == 30.0 and flagged.priority_score > anonymous.priority_score
    harm = _case_of(api, _report(api, "r3", "u2", "SELF_HARM", imminent_harm=True))
    assert harm.band == "P0" and harm.queue_id == queues["Imminent harm"] and harm.imminent_harm
    assert as_utc(harm.due_at) <= utcnow() + timedelta(minutes=30)
    # A later imminent-harm report on an open case moves that case up and to the imminent-harm route.
    joined = _case_of(api, _report(api, "r4", "msg-en", imminent_harm=True))
    assert joined.id == anonymous.id and joined.band == "P0" and joined.queue_id == queues["Imminent harm"]


def test_reach_raises_priority_and_the_queue_sla_sets_the_due_time(api: Api) -> None:
    _subjects(api)
    popular = _case_of(api, _report(api, "r1", "msg-en"))
    unknown = _case_of(api, _report(api, "r2", "u1"))
    assert popular.priority_reasons["reach"] == 0.0  # reach belongs to the account, not the message
    account = _case_of(api, _report(api, "r3", "acc"))
    assert account.priority_reasons["reach"] == 40.0 > unknown.priority_reasons["reach"]
    minutes = {"P0": 60, "P1": 240, "P2": 1440, "P3": 4320}[unknown.band]
    assert abs((as_utc(unknown.due_at) - as_utc(unknown.created_at)) - timedelta(minutes=minutes)) < timedelta(seconds=1)


def test_a_reviewer_flag_of_imminent_harm_jumps_the_case(api: Api, settings: Settings) -> None:
    queues = _seed_queues(api)
    _subjects(api)
    case = _case_of(api, _report(api, "r1", "msg-en"))
    with api.db.session() as s:
        mia = reviewer(s, settings, "mia", ["moderator"])
        sue = reviewer(s, settings, "sue", ["senior"])
        s.execute(update(Case).where(Case.id == case.id).values(
            claimed_by=mia.id, lease_until=utcnow() + timedelta(minutes=5), assigned_to=mia.id))
    with api.db.session() as s:
        routing.flag_imminent_harm(s, SETUP, mia, case.id, "says they will hurt themselves tonight")
    with api.db.reader() as s:
        flagged = s.get(Case, case.id)
    assert flagged.band == "P0" and flagged.priority_score > 1000 and flagged.queue_id == queues["Imminent harm"]
    assert as_utc(flagged.due_at) < as_utc(case.due_at)
    # The Imminent harm queue is for seniors and escalations: the moderator's claim and assignment end there.
    assert (flagged.claimed_by, flagged.lease_until, flagged.assigned_to) == (None, None, None)
    with api.db.session() as s:
        assert claiming.next_case(s, sue).case.id == case.id


def test_notices_of_a_suspended_notifier_are_recorded_but_not_queued(api: Api) -> None:
    _subjects(api)
    with api.db.session() as s:
        s.add(NotifierRecord(key="account:" + str(_subject_id(api, "u1")), app_id=api.app_id, founded=0, unfounded=30,
                             suspended_until=utcnow() + timedelta(days=10)))
    report_id = _report(api, "r1", "msg-en", reporter_type="user", reporter_external_id="u1")
    with api.db.reader() as s:
        report = s.get(Report, report_id)
        assert report.status == "held" and report.case_id is None
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.verb == "report.held_back")).scalar_one()


def test_deprioritised_notifiers_count_less(api: Api) -> None:
    _subjects(api)
    with api.db.session() as s:
        s.add(NotifierRecord(key="account:" + str(_subject_id(api, "u1")), app_id=api.app_id, founded=1, unfounded=20,
                             deprioritised_until=utcnow() + timedelta(days=10)))
    case = _case_of(api, _report(api, "r1", "msg-en", reporter_type="user", reporter_external_id="u1"))
    assert case.priority_reasons["notifier"] == -30.0


def _subject_id(api: Api, external_id: str) -> int:
    with api.db.reader() as s:
        return s.execute(select(Subject.id).where(Subject.external_id == external_id)).scalar_one()


def test_a_decided_case_is_not_joined_by_new_reports(api: Api) -> None:
    _subjects(api)
    first = _case_of(api, _report(api, "r1", "msg-en"))
    with api.db.session() as s:
        s.execute(update(Case).where(Case.id == first.id).values(status="decided"))
    assert _case_of(api, _report(api, "r2", "msg-en")).id != first.id
