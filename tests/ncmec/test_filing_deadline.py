"""The CyberTipline filing deadline on a confirmed child-safety case, on both databases: the
decision sets it (24 hours, or as configured), the filed report or the decision's reversal clears it, the SLA sweep
breaches it once past, and the child-safety dashboard and case panel show it, breaches marked,
to child-safety staff only."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.ncmec.sandbox import Tipline
from tests.ncmec.test_reports import _build, _child_safety_case, _confirm, _queue, _work
from tests.web.office import SETUP, Office
from trustdesk.cases import sla
from trustdesk.cases.access import Reviewer
from trustdesk.config import Settings
from trustdesk.enforcement.decisions import DecisionRequest, decide_subject, undo_decision
from trustdesk.ncmec import filing_deadline
from trustdesk.store.models import AuditEvent, Case, NcmecReport, as_utc, utcnow


@pytest.fixture
def settings(settings: Settings, tipline: Tipline) -> Settings:
    """The app files its reports with the test's sandbox."""
    return dataclasses.replace(settings, ncmec=tipline.settings())


def _case(office: Office, case_id: int) -> Case:
    with office.api.db.reader() as s:
        case = s.get_one(Case, case_id)
        s.expunge(case)
    return case


def _verbs(office: Office, case_id: int) -> list[str]:
    with office.api.db.reader() as s:
        return list(s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "case", AuditEvent.object_id == str(case_id),
                                                            AuditEvent.verb.like("case.filing_%") | (AuditEvent.verb == "case.sla_breached"))
                              .order_by(AuditEvent.id)).scalars())


def _past_due(office: Office, case_id: int) -> None:
    with office.api.db.session() as s:
        s.get_one(Case, case_id).legal_due_at = utcnow() - timedelta(minutes=5)


def test_confirming_a_child_safety_case_sets_its_filing_deadline_and_filing_the_report_clears_it(office: Office, tipline: Tipline) -> None:
    case_id, _item = _child_safety_case(office)
    assert _case(office, case_id).legal_due_at is None  # reported, not confirmed
    decision = _confirm(office, case_id)
    confirmed = _case(office, case_id)
    assert (confirmed.status, as_utc(confirmed.legal_due_at)) == ("decided", as_utc(decision.created_at) + timedelta(hours=24))
    assert _build(office, case_id, tipline).report.due_at == confirmed.legal_due_at
    _queue(office, case_id)
    _work(office, tipline)
    with office.api.db.reader() as s:
        report = s.execute(select(NcmecReport)).scalar_one()
    assert report.state == "finished" and report.due_at is not None  # the report keeps when it was due
    assert _case(office, case_id).legal_due_at is None
    assert _verbs(office, case_id) == ["case.filing_due", "case.filing_done"]


def test_reversing_the_confirming_decision_withdraws_the_filing_deadline(office: Office) -> None:
    case_id, _item = _child_safety_case(office)
    decision = _confirm(office, case_id)
    other, _item = _child_safety_case(office, "photo-10")
    _confirm(office, other)
    with office.api.db.session() as s:
        undo_decision(s, SETUP, decision.id, reviewer=None, reason="an adult, not a child: overturned on appeal")
    assert _case(office, case_id).legal_due_at is None and _case(office, other).legal_due_at is not None
    assert _verbs(office, case_id) == ["case.filing_due", "case.filing_withdrawn"]
    _past_due(office, other)
    assert sla.sweep(office.api.db).breached == 1  # only the filing still due
    with office.api.db.reader() as s:
        cara = Reviewer(office.users["cara"], ("child-safety",))
        assert [f.case.id for f in filing_deadline.outstanding(s, cara, utcnow())] == [other]


def test_reversing_a_decision_under_another_policy_leaves_a_filing_deadline_alone(office: Office) -> None:
    case_id, _item = _child_safety_case(office)
    _confirm(office, case_id)
    with office.api.db.session() as s:
        spam = decide_subject(s, SETUP, s.get_one(Case, case_id).subject_id, DecisionRequest("SPAM", verdict="violation", actions=["remove"]))
        s.flush()
        undo_decision(s, SETUP, spam.id, reviewer=None, reason="not spam")
    assert _case(office, case_id).legal_due_at is not None
    assert _verbs(office, case_id) == ["case.filing_due"]


def test_the_filing_window_is_the_configured_one(office: Office) -> None:
    case_id, _item = _child_safety_case(office)
    with office.api.db.session() as s:
        s.info["ncmec_filing_hours"] = 6  # TRUSTDESK_NCMEC_FILING_HOURS=6, as `Settings.session_info` hands it to sessions
        case = s.get_one(Case, case_id)
        decision = decide_subject(s, SETUP, case.subject_id, DecisionRequest("CSAM", verdict="violation", actions=["remove"], rationale="x"))
        s.flush()
        assert as_utc(case.legal_due_at) == as_utc(decision.created_at) + timedelta(hours=6)


def test_a_violation_under_another_policy_sets_no_filing_deadline(office: Office) -> None:
    case_id, _item = _child_safety_case(office, "photo-spam", policy="SPAM")
    with office.api.db.session() as s:
        decide_subject(s, SETUP, s.get_one(Case, case_id).subject_id, DecisionRequest("SPAM", verdict="violation", actions=["remove"]))
    assert (_case(office, case_id).status, _case(office, case_id).legal_due_at) == ("decided", None)


def test_the_sla_sweep_breaches_a_filing_past_its_deadline_once(office: Office) -> None:
    case_id, _item = _child_safety_case(office)
    _confirm(office, case_id)
    sla.sweep(office.api.db)
    assert _case(office, case_id).legal_breached_at is None  # not due yet
    _past_due(office, case_id)
    assert sla.sweep(office.api.db).breached == 1
    assert sla.sweep(office.api.db).breached == 0
    assert _case(office, case_id).legal_breached_at is not None
    assert _verbs(office, case_id) == ["case.filing_due", "case.sla_breached"]
    with office.api.db.reader() as s:
        alert = s.execute(select(AuditEvent).where(AuditEvent.verb == "case.sla_breached", AuditEvent.object_id == str(case_id))).scalar_one()
    assert alert.after["deadline"] == "ncmec_filing"


def test_the_dashboard_and_the_case_panel_show_the_deadline_with_breaches_marked(office: Office, tipline: Tipline) -> None:
    late, _item = _child_safety_case(office)
    _confirm(office, late)
    _past_due(office, late)
    on_time, _item = _child_safety_case(office, "photo-11")
    _confirm(office, on_time)
    _build(office, on_time, tipline)
    office.log_in("cara")
    page = office.api.client.get("/ncmec")
    assert page.status_code == 200
    rows = re.findall(r'<tr id="filing-(\d+)" class="[^"]*" data-breached="(yes|no)"', page.text)
    assert rows == [(str(late), "yes"), (str(on_time), "no")]  # soonest deadline first
    assert re.search(rf'/cases/{on_time}/ncmec">draft<', page.text) and re.search(rf'/cases/{late}/ncmec">not built<', page.text)
    assert 'href="/ncmec">CyberTipline filings<' in page.text
    panel = office.api.client.get(f"/cases/{late}").text
    assert re.search(r'data-testid="ncmec-case-due" class="late">To be filed with NCMEC by [^<]*: <strong>deadline breached', panel)

    _queue(office, on_time)
    _work(office, tipline)
    rows = re.findall(r'<tr id="filing-(\d+)"', office.api.client.get("/ncmec").text)
    assert rows == [str(late)]  # filed: off the list
    assert 'data-testid="ncmec-case-due"' not in office.api.client.get(f"/cases/{on_time}").text


def test_only_child_safety_staff_see_the_filings_due(office: Office) -> None:
    case_id, _item = _child_safety_case(office)
    _confirm(office, case_id)
    office.log_in("sue")
    assert office.api.client.get("/ncmec").status_code == 403
    assert 'href="/ncmec"' not in office.api.client.get("/").text
    with office.api.db.reader() as s:
        assert filing_deadline.outstanding(s, Reviewer(office.users["mia"], ("moderator",)), utcnow()) == []
        assert [f.case.id for f in filing_deadline.outstanding(s, Reviewer(office.users["cara"], ("child-safety",)), utcnow())] == [case_id]
