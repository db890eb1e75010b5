"""Law-enforcement requests open a case on the instrument's legal clock, preserve and look for
copies at once, go through legal review to a disclosure package, close, and keep a
non-disclosure order from the people they are about."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.evidence.conftest import LEGAL, Held
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.law_enforcement import Intake
from trustdesk.domain.legal_deadlines import end_of
from trustdesk.evidence import holds
from trustdesk.law_enforcement import non_disclosure, requests
from trustdesk.store.models import AuditEvent, Case, CaseSubject, LegalHold, Queue, Signal

RECEIVED = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def intake(instrument: str, subjects: tuple[str, ...] = ("acc-1",), **more: object) -> Intake:
    fields: dict[str, object] = {"agency": "County Sheriff", "officer_name": "Det. Ana Ruiz", "officer_email": "aruiz@sheriff.example",
                                 "officer_phone": "+1 555 0100", "instrument": instrument, "reference": "SO-2026-118",
                                 "subjects": subjects, "received_at": RECEIVED} | more
    return Intake(**fields)  # type: ignore[arg-type]


def receive(world: Held, filed: Intake, **more: object) -> int:
    with world.api.db.session() as s:
        request, created = requests.receive(s, LEGAL, world.api.app_id, filed, **more)  # type: ignore[arg-type]
        assert created is True
        return request.id


def test_a_subpoena_opens_a_legal_case_on_its_stated_date_for_legal_staff(world: Held) -> None:
    stated = datetime(2026, 12, 20, 17, 0, tzinfo=timezone.utc)
    request_id = receive(world, intake("subpoena", ("acc-1", "post-1"), stated_due_at=stated))
    with world.api.db.reader() as s:
        request = requests.request_of(s, request_id)
        case = s.get_one(Case, request.case_id)
        queue = s.get_one(Queue, case.queue_id)
        assert (request.status, request.due_at, request.emergency, request.preservation_hold_id) == ("received", stated, False, None)
        assert (case.kind, case.band, case.legal_due_at, case.due_at, case.status) == ("law_enforcement_request", "P2", stated, stated, "open")
        assert (queue.name, queue.required_roles) == ("Law-enforcement requests", ["legal"])
        assert sorted(s.execute(select(CaseSubject.subject_id).where(CaseSubject.case_id == case.id)).scalars()) == \
            sorted([world.ids["acc-1"], world.ids["post-1"]])
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "law_enforcement_request")).scalars().all()
        assert verbs == ["law_enforcement_request.received"]


def test_an_emergency_is_due_in_an_hour_at_top_priority(world: Held) -> None:
    request_id = receive(world, intake("emergency_disclosure"))
    with world.api.db.reader() as s:
        request = requests.request_of(s, request_id)
        case = s.get_one(Case, request.case_id)
        assert (request.emergency, request.due_at, case.band, case.priority_score) == (True, RECEIVED + timedelta(hours=1), "P0", 2000.0)


def test_a_subpoena_without_its_date_and_a_bad_instrument_are_refused_by_field(world: Held) -> None:
    with world.api.db.session() as s:
        with pytest.raises(FieldError) as no_date:
            requests.receive(s, LEGAL, world.api.app_id, intake("subpoena"))
        with pytest.raises(FieldError) as bad:
            requests.receive(s, LEGAL, world.api.app_id, intake("letter"))
    assert (no_date.value.field, bad.value.field) == ("due_at", "instrument")


def test_a_preservation_letter_places_a_preservation_hold_at_once(world: Held) -> None:
    request_id = receive(world, intake("preservation_letter"))
    with world.api.db.reader() as s:
        request = requests.request_of(s, request_id)
        hold = s.get_one(LegalHold, request.preservation_hold_id)
        assert (hold.basis, hold.reference) == ("law_enforcement_preservation", "SO-2026-118")
        assert request.due_at == end_of(date(2027, 3, 1))
        assert holds.covering(s, [world.ids["photo-1"]]) == {world.ids["photo-1"]: hold.id}


def test_a_take_it_down_request_lists_the_known_copies_of_the_named_media(world: Held) -> None:
    asked: list[object] = []
    request_id = receive(world, intake("take_it_down_request", ("photo-1",)), bank_matches=lambda h: asked.append(h) or [])
    with world.api.db.reader() as s:
        request = requests.request_of(s, request_id)
        assert request.known_copies == [{"subject_id": world.ids["photo-2"], "external_id": "photo-2", "how": ["same file"]}]
        assert request.due_at == RECEIVED + timedelta(hours=48)
    assert [getattr(h, "sha256") for h in asked] == [world.photo_sha256]


def test_an_identical_retry_answers_the_original_and_a_changed_one_conflicts(world: Held) -> None:
    first = receive(world, intake("emergency_disclosure"), external_id="le-1")
    with world.api.db.session() as s:
        again, created = requests.receive(s, LEGAL, world.api.app_id, intake("emergency_disclosure"), external_id="le-1")
        assert (again.id, created) == (first, False)
        with pytest.raises(Conflict):
            requests.receive(s, LEGAL, world.api.app_id, intake("emergency_disclosure", ("post-1",)), external_id="le-1")


def test_review_narrows_discloses_a_package_of_the_kept_subjects_and_closes(world: Held) -> None:
    stated = datetime(2026, 12, 20, tzinfo=timezone.utc)
    request_id = receive(world, intake("search_warrant", ("acc-1", "acc-2"), stated_due_at=stated))
    with world.api.db.session() as s:
        requests.start_review(s, LEGAL, request_id)
        with pytest.raises(FieldError) as empty:
            requests.review(s, LEGAL, request_id, "narrow", "", [world.ids["acc-1"]])
        assert empty.value.field == "reasons"
        requests.review(s, LEGAL, request_id, "narrow", "the warrant names one account only", [world.ids["acc-1"]])
    with world.api.db.session() as s:
        data = requests.disclose(s, LEGAL, world.api.client.app.state.blobs, request_id, "served on the sheriff")
    with world.api.db.session() as s:
        requests.close(s, LEGAL, request_id, "answered")
    with world.api.db.reader() as s:
        request = requests.request_of(s, request_id)
        assert (request.status, request.review_outcome, request.disclosed_subject_ids) == ("closed", "narrow", [world.ids["acc-1"]])
        assert request.disclosure_sha256 == hashlib.sha256(data).hexdigest()
        held = holds.view(s, request.disclosure_hold_id or 0)
        assert [x.external_id for x in held.subjects] == ["acc-1"]
        assert s.get_one(Case, request.case_id).status == "decided"
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "law_enforcement_request")
                          .order_by(AuditEvent.id)).scalars().all()
        assert verbs == ["law_enforcement_request.received", "law_enforcement_request.in_review", "law_enforcement_request.narrowed",
                         "law_enforcement_request.disclosed", "law_enforcement_request.closed"]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_a_rejected_request_cannot_be_disclosed(world: Held) -> None:
    request_id = receive(world, intake("subpoena", stated_due_at=RECEIVED + timedelta(days=10)))
    with world.api.db.session() as s:
        requests.start_review(s, LEGAL, request_id)
        requests.review(s, LEGAL, request_id, "reject", "outside our jurisdiction")
    with world.api.db.session() as s, pytest.raises(Conflict):
        requests.disclose(s, LEGAL, world.api.client.app.state.blobs, request_id, "served")


def test_a_standing_non_disclosure_order_is_found_for_its_subjects_until_its_date(world: Held) -> None:
    receive(world, intake("court_order", ("post-1",), stated_due_at=RECEIVED + timedelta(days=5), non_disclosure=True,
                          non_disclosure_until=date(2027, 6, 30)))
    with world.api.db.reader() as s:
        assert non_disclosure.under_non_disclosure(s, [world.ids["post-1"]], today=date(2027, 6, 30)) is True
        assert non_disclosure.under_non_disclosure(s, [world.ids["post-1"]], today=date(2027, 7, 1)) is False
        assert non_disclosure.under_non_disclosure(s, [world.ids["acc-2"]], today=date(2027, 1, 1)) is False


def test_the_dashboard_puts_emergencies_first_then_by_deadline_and_flags_the_overdue(world: Held) -> None:
    late = receive(world, intake("subpoena", stated_due_at=RECEIVED + timedelta(days=1)))
    later = receive(world, intake("court_order", stated_due_at=datetime(2099, 1, 1, tzinfo=timezone.utc)))
    urgent = receive(world, intake("emergency_disclosure"))
    with world.api.db.reader() as s:
        rows = requests.dashboard(s)
    assert [(r.request.id, r.overdue) for r in rows] == [(urgent, True), (late, True), (later, False)]



def test_known_copies_include_subjects_that_matched_the_same_bank_hash(world: Held) -> None:
    with world.api.db.session() as s:
        s.add(Signal(subject_id=world.ids["post-1"], analyser="hash_banks", label="ncii", match="bank:ncii/5", evidence={},
                     model_version="1", content_hash="c" * 64))
    request_id = receive(world, intake("take_it_down_request", ("photo-1",)), bank_matches=lambda _h: [("ncii", 5)])
    expected = sorted([(world.ids["post-1"], "post-1", ["matched bank:ncii/5"]), (world.ids["photo-2"], "photo-2", ["same file"])])
    with world.api.db.reader() as s:
        assert requests.request_of(s, request_id).known_copies == [
            {"subject_id": subject_id, "external_id": external_id, "how": how} for subject_id, external_id, how in expected]
