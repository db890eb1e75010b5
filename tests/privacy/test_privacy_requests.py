"""Privacy requests: intake through the API with the regime's clock on the case, the identity
check, the one extension, and erasure through the one deletion path, partly blocked by a hold."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.evidence.conftest import LEGAL, Held
from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.errors import Conflict, FieldError
from trustdesk.domain.legal_deadlines import end_of
from trustdesk.domain.legal_holds import HoldSpec
from trustdesk.evidence import holds
from trustdesk.privacy import requests
from trustdesk.store.models import App, Case, OutboxMessage, PrivacyRequest, Queue, Subject

PRIVACY = Actor("staff", "priya")
BODY = {"external_id": "dsr-1", "subject_external_id": "acc-1", "regime": "gdpr", "request_type": "erasure",
        "requester_name": "Mara", "requester_contact": "mara@example.org", "received_on": "2026-01-31"}


def _file(world: Held, **changes: str) -> dict[str, object]:
    r = world.api.post("/api/v1/privacy-requests", BODY | changes)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_filed_request_opens_a_case_in_the_privacy_queue_due_on_the_legal_date(world: Held) -> None:
    filed = _file(world)
    assert (filed["status"], filed["verification"], filed["due_on"], filed["extended_to"]) == ("open", "unverified", "2026-02-28", None)
    again = world.api.post("/api/v1/privacy-requests", BODY)
    assert again.status_code == 200 and again.json()["id"] == filed["id"]
    changed = world.api.post("/api/v1/privacy-requests", BODY | {"request_type": "access"})
    assert changed.status_code == 409 and changed.json()["field"] == "external_id"
    with world.api.db.reader() as s:
        request = s.get_one(PrivacyRequest, filed["id"])
        case = s.get_one(Case, request.case_id)
        queue = s.get_one(Queue, case.queue_id)
        assert (case.kind, case.subject_id, queue.name, queue.required_roles) == ("privacy_request", world.ids["acc-1"], "Privacy requests", ["privacy"])
        assert case.legal_due_at == case.due_at == end_of(date(2026, 2, 28))


def test_intake_names_the_field_at_fault(world: Held) -> None:
    for changes, field in (({"subject_external_id": "post-1"}, "subject_external_id"), ({"subject_external_id": "nobody"}, "subject_external_id"),
                           ({"regime": "hipaa"}, "regime"), ({"request_type": "opt_out"}, "request_type"),
                           ({"received_on": "2999-01-01"}, "received_on")):
        r = world.api.post("/api/v1/privacy-requests", BODY | changes)
        assert r.status_code in (404, 422), r.text
        assert r.json()["field"] == field, (changes, r.text)


def test_identity_pause_and_extension_move_the_clock_and_a_regime_without_one_refuses(world: Held) -> None:
    uk = _file(world, external_id="dsr-uk", regime="uk_gdpr")
    lgpd = _file(world, external_id="dsr-br", regime="lgpd")
    with world.api.db.session() as s:
        request = requests.verify(s, PRIVACY, int(uk["id"]), True, "passport seen", paused_days=5)
        assert (request.verification, request.due_on, request.verified_by) == ("verified", date(2026, 3, 5), "staff:priya")
        request = requests.extend(s, PRIVACY, int(uk["id"]), "complex: many accounts", date(2026, 3, 5))
        assert request.extended_to == date(2026, 5, 5)
        assert s.get_one(Case, request.case_id).legal_due_at == end_of(date(2026, 5, 5))
        with pytest.raises(Conflict):
            requests.extend(s, PRIVACY, int(uk["id"]), "again", date(2026, 3, 5))
        with pytest.raises(FieldError) as refused:
            requests.extend(s, PRIVACY, int(lgpd["id"]), "complex", date(2026, 2, 1))
        assert refused.value.field == "extension"
        with pytest.raises(FieldError) as paused:
            requests.verify(s, PRIVACY, int(lgpd["id"]), True, "id card", paused_days=3)
        assert paused.value.field == "paused_days"


def test_answering_needs_a_verified_identity(world: Held) -> None:
    filed = _file(world)
    with world.api.db.session() as s:
        with pytest.raises(Conflict) as unverified:
            requests.complete(s, PRIVACY, int(filed["id"]), "done")
        assert unverified.value.field == "verification"
        refused = requests.refuse(s, PRIVACY, int(filed["id"]), "identity not proven")
        assert (refused.status, s.get_one(Case, refused.case_id).status) == ("refused", "decided")


def test_an_extension_after_the_first_period_ran_out_is_refused_and_the_breach_stays(world: Held) -> None:
    filed = _file(world)  # GDPR, received 2026-01-31: due 2026-02-28
    with world.api.db.session() as s:
        with pytest.raises(Conflict) as late:
            requests.extend(s, PRIVACY, int(filed["id"]), "complex", date(2026, 3, 1))
        assert late.value.field == "extension" and "2026-02-28" in late.value.message
    with world.api.db.reader() as s:
        assert s.get_one(PrivacyRequest, int(filed["id"])).extended_to is None
        [row] = [r for r in requests.dashboard(s, date(2026, 3, 1)) if r.request.id == int(filed["id"])]
        assert (row.due, row.breached) == (date(2026, 2, 28), True)
    with world.api.db.session() as s:  # on the last day of the period it is still in time
        assert requests.extend(s, PRIVACY, int(filed["id"]), "complex", date(2026, 2, 28)).extended_to == date(2026, 4, 30)


def test_an_erasure_erases_what_no_hold_covers_and_says_what_was_retained(world: Held) -> None:
    filed = _file(world)
    with world.api.db.session() as s:
        hold = holds.place_hold(s, LEGAL, [world.ids["post-1"]], HoldSpec("law_enforcement_preservation", "preservation letter"))
    with world.api.db.session() as s:
        requests.verify(s, PRIVACY, int(filed["id"]), True, "signed in to the account")
        done = requests.complete(s, PRIVACY, int(filed["id"]), "We erased your data.")
        assert done.request.outcome == {"erased": ["photo-1"], "already_erased": [], "retained": [
            {"external_id": "acc-1", "hold_id": hold.id, "basis": "law_enforcement_preservation"},
            {"external_id": "post-1", "hold_id": hold.id, "basis": "law_enforcement_preservation"}]}
        answer = done.request.answer or ""
        assert "Retained for now: 2 of your records, which the law requires us to keep" in answer
        # No tipping off: the person is not told which hold, on what basis, or which items it covers.
        assert "law_enforcement" not in answer and "hold " not in answer and "post-1" not in answer
    with world.api.db.reader() as s:
        erased = {x.external_id: x.erased_at is not None for x in s.execute(select(Subject)).scalars()}
        assert erased == {"acc-1": False, "post-1": False, "photo-1": True, "acc-2": False, "photo-2": False}
        assert s.get_one(Subject, world.ids["post-1"]).text == "meet me behind the school"
    r = world.api.client.get(f"/api/v1/privacy-requests/{filed['id']}", headers=world.api.auth)
    assert r.status_code == 200 and r.json()["status"] == "answered" and r.json()["outcome"]["erased"] == ["photo-1"]


def test_what_an_ncmec_hold_keeps_is_not_named_to_the_person_or_the_host_platform(world: Held, settings: Settings) -> None:
    with world.api.db.session() as s:
        add_endpoint(s, LEGAL, SecretBox(settings.secret_key), s.get_one(App, world.api.app_id), "http://127.0.0.1:9/hooks", production=False)
        holds.place_hold(s, LEGAL, [world.ids["photo-1"]], HoldSpec("ncmec_report", "CyberTipline report 88213"))
    filed = _file(world)
    with world.api.db.session() as s:
        requests.verify(s, PRIVACY, int(filed["id"]), True, "signed in to the account")
        done = requests.complete(s, PRIVACY, int(filed["id"]), "We erased your data.")
        assert [r["basis"] for r in done.request.outcome["retained"]] == ["ncmec_report", "ncmec_report"]  # the staff's record
        assert "ncmec" not in (done.request.answer or "").lower() and "photo-1" not in (done.request.answer or "")
    with world.api.db.reader() as s:
        data = s.execute(select(OutboxMessage).where(OutboxMessage.event_type == "privacy.erasure_completed")).scalar_one().payload["data"]
    assert (data["erased"], data["retained"]) == (["post-1"], ["acc-1", "photo-1"])
    assert "ncmec" not in str(data).lower() and "hold" not in str(data)


def test_an_unheld_person_is_erased_whole_and_the_host_platform_is_told(world: Held, settings: Settings) -> None:
    with world.api.db.session() as s:
        add_endpoint(s, LEGAL, SecretBox(settings.secret_key), s.get_one(App, world.api.app_id), "http://127.0.0.1:9/hooks", production=False)
    filed = _file(world)
    with world.api.db.session() as s:
        requests.verify(s, PRIVACY, int(filed["id"]), True, "signed in to the account")
        requests.complete(s, PRIVACY, int(filed["id"]), "We erased your data.")
    with world.api.db.reader() as s:
        assert {x.external_id for x in s.execute(select(Subject).where(Subject.erased_at.is_not(None))).scalars()} == {"acc-1", "post-1", "photo-1"}
        event = s.execute(select(OutboxMessage).where(OutboxMessage.event_type == "privacy.erasure_completed")).scalar_one()
        data = event.payload["data"]
        assert (data["privacy_request_id"], data["external_id"], data["subject"]) == (filed["id"], "dsr-1", {"kind": "account", "external_id": "acc-1"})
        assert (data["erased"], data["retained"]) == (["acc-1", "photo-1", "post-1"], [])


def test_the_dashboard_lists_open_requests_by_legal_date_and_marks_breaches(world: Held) -> None:
    later = _file(world, external_id="dsr-late", regime="ccpa", request_type="know", received_on="2026-03-01")  # due 2026-04-15
    sooner = _file(world, external_id="dsr-soon", regime="lgpd", request_type="access", received_on="2026-03-20")  # due 2026-04-04
    done = _file(world, external_id="dsr-done", regime="lgpd", request_type="access", received_on="2026-03-01")
    with world.api.db.session() as s:
        requests.refuse(s, PRIVACY, int(done["id"]), "identity not proven")
    with world.api.db.reader() as s:
        rows = requests.dashboard(s, date(2026, 4, 10))
        assert [(r.request.id, r.due, r.days_left, r.breached) for r in rows] == [
            (sooner["id"], date(2026, 4, 4), -6, True), (later["id"], date(2026, 4, 15), 5, False)]
        assert [r.request.id for r in requests.dashboard(s, date(2026, 4, 10), include_closed=True)] == [sooner["id"], later["id"], done["id"]]
