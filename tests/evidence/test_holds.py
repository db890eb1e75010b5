"""Holds snapshot everything about their subjects once, keep a hash-chained custody log, run on
calendar clocks by legal basis, and stop the one deletion path until released."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import orjson
import pytest
from sqlalchemy import select, update

from tests.concurrency import together
from tests.evidence.conftest import LEGAL, Held
from trustdesk.domain.errors import FieldError
from trustdesk.domain.errors import Held as HeldError
from trustdesk.domain.legal_holds import HoldSpec, add_years, custody_problem, expiry, sha256
from trustdesk.evidence import custody, holds
from trustdesk.privacy.deletion import delete_subject_data
from trustdesk.store.models import AccountEvent, Blob, CustodyEvent, EvidenceItem, HoldSubject, MediaItem, Subject

PRESERVE = HoldSpec("law_enforcement_preservation", "preservation letter from the county sheriff", "SO-2026-118")


def test_a_hold_on_an_account_snapshots_it_its_items_reports_media_and_events(world: Held) -> None:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["acc-1"]], PRESERVE).id
    with world.api.db.reader() as s:
        held = holds.view(s, hold_id)
        assert [x.external_id for x in held.subjects] == ["acc-1"] and held.covered == 3
        kinds = [(i.kind, i.subject_id) for i in held.items]
        assert kinds == [("subject", world.ids["acc-1"]), ("account_event", world.ids["acc-1"]),
                         ("subject", world.ids["post-1"]), ("report", world.ids["post-1"]),
                         ("subject", world.ids["photo-1"]), ("media", world.ids["photo-1"])]
        for item in held.items:
            assert item.sha256 == (sha256(item.body) if item.body is not None else item.blob_sha256)
        assert held.items[5].sha256 == world.photo_sha256
        account = orjson.loads(held.items[0].body or b"")
        assert account["personal"] == {"email": "mara@example.org", "display_name": "Mara"}
        assert orjson.loads(held.items[1].body or b"")["ip"] == "203.0.113.9"


def test_changing_the_subject_later_leaves_the_evidence_as_it_was(world: Held) -> None:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["post-1"]], PRESERVE).id
    with world.api.db.reader() as s:
        before = [(i.sha256, i.body) for i in holds.items_of(s, hold_id)]
    r = world.api.client.patch("/api/v1/subjects/post-1", json={"text": "nothing to see here"}, headers=world.api.auth)
    assert r.status_code == 200, r.text
    with world.api.db.reader() as s:
        after = [(i.sha256, i.body) for i in holds.items_of(s, hold_id)]
        assert after == before
        assert orjson.loads(after[0][1] or b"")["text"] == "meet me behind the school"
        assert sha256(after[0][1] or b"") == after[0][0]


def test_each_basis_has_its_calendar_clock() -> None:
    leap = datetime(2028, 2, 29, 10, 0, tzinfo=timezone.utc)
    assert expiry("ncmec_report", leap) == datetime(2029, 2, 28, 10, 0, tzinfo=timezone.utc)
    assert add_years(datetime(2026, 12, 6, tzinfo=timezone.utc), 1) == datetime(2027, 12, 6, tzinfo=timezone.utc)
    assert expiry("law_enforcement_preservation", leap) == leap + timedelta(days=90)
    assert expiry("manual", leap) is None
    with pytest.raises(FieldError) as refused:
        HoldSpec("manual", "litigation expected").checked(date(2026, 12, 6))
    assert refused.value.field == "review_on"
    with pytest.raises(FieldError) as refused:
        HoldSpec("subpoena", "x").checked(date(2026, 12, 6))
    assert refused.value.field == "basis"


def test_a_preservation_hold_is_extended_by_ninety_days_on_the_record(world: Held) -> None:
    with world.api.db.session() as s:
        hold = holds.place_hold(s, LEGAL, [world.ids["post-1"]], PRESERVE)
        first_end = hold.expires_at
        manual = holds.place_hold(s, LEGAL, [world.ids["post-1"]], HoldSpec("manual", "counsel asked", review_on=date.today() + timedelta(days=30)))
        ids = hold.id, manual.id
    with world.api.db.session() as s:
        assert holds.extend_hold(s, LEGAL, ids[0], "renewed request SO-2026-118/2").expires_at == first_end + timedelta(days=90)
    with world.api.db.session() as s, pytest.raises(FieldError) as refused:
        holds.extend_hold(s, LEGAL, ids[1], "longer")
    assert refused.value.field == "basis"
    with world.api.db.reader() as s:
        log = custody.log_of(s, ids[0])
        assert [(e.seq, e.verb, e.actor) for e in log] == [(1, "place", "staff:lena"), (2, "extend", "staff:lena")]
        assert log[1].reason == "renewed request SO-2026-118/2"


def test_the_custody_chain_verifies_and_names_a_tampered_event(world: Held) -> None:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["post-1"]], PRESERVE).id
    with world.api.db.session() as s:
        item = holds.items_of(s, hold_id)[0]
        holds.read_item(s, LEGAL, hold_id, item.id, "checking the wording for the affidavit")
        holds.record_transfer(s, LEGAL, hold_id, "County Sheriff, Det. Ruiz", "disclosure under warrant 44-B")
    with world.api.db.reader() as s:
        events = [custody.exported(e) for e in custody.log_of(s, hold_id)]
    assert [e["verb"] for e in events] == ["place", "read", "transfer"]
    assert custody_problem(events, hold_id) is None
    with world.api.db.session() as s:
        s.execute(update(CustodyEvent).where(CustodyEvent.hold_id == hold_id, CustodyEvent.seq == 2).values(reason="nothing"))
    with world.api.db.reader() as s:
        tampered = [custody.exported(e) for e in custody.log_of(s, hold_id)]
    assert custody_problem(tampered, hold_id) == "custody event 2 was altered: its content no longer matches its hash"
    assert custody_problem([events[0], events[2]], hold_id) == "custody event 2 is missing or out of place"


def test_deletion_is_refused_under_a_hold_naming_it_and_goes_through_after_release(world: Held) -> None:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["acc-1"]], PRESERVE).id
    for target in ("acc-1", "post-1"):
        with world.api.db.session() as s, pytest.raises(HeldError) as refused:
            delete_subject_data(s, LEGAL, [world.ids[target]], "host platform deleted it")
        assert refused.value.hold_id == hold_id and refused.value.field == "hold_id"
    with world.api.db.reader() as s:
        assert s.get_one(Subject, world.ids["post-1"]).text == "meet me behind the school"
    with world.api.db.session() as s:
        holds.release_hold(s, LEGAL, hold_id, "the sheriff withdrew the request")
    with world.api.db.session() as s:
        done = delete_subject_data(s, LEGAL, [world.ids["acc-1"]], "host platform deleted it")
        assert sorted(x.external_id for x in done.erased) == ["acc-1", "photo-1", "post-1"]
        assert done.media_items == 1 and done.account_events == 1 and done.person_keys == 1
        assert done.blobs == []  # photo-2 and the (released) evidence set still use the file
    with world.api.db.reader() as s:
        post, account = s.get_one(Subject, world.ids["post-1"]), s.get_one(Subject, world.ids["acc-1"])
        assert (post.text, account.personal, account.erased_at is not None) == (None, {}, True)
        event = s.execute(select(AccountEvent)).scalar_one()
        assert (event.ip, event.device_id) == (None, None)
        assert s.execute(select(MediaItem.subject_id)).scalars().all() == [world.ids["photo-2"]]
        assert s.get(Blob, world.photo_sha256) is not None
        assert len(holds.items_of(s, hold_id)) == 6  # the released set waits for its retention purge
    with world.api.db.session() as s:
        again = delete_subject_data(s, LEGAL, [world.ids["acc-1"]], "sent twice")
        assert again.erased == [] and len(again.already_erased) == 3


def test_a_hold_on_nothing_or_on_a_missing_subject_is_refused(world: Held) -> None:
    with world.api.db.session() as s, pytest.raises(FieldError) as refused:
        holds.place_hold(s, LEGAL, [], PRESERVE)
    assert refused.value.field == "subjects"
    with world.api.db.session() as s, pytest.raises(FieldError) as refused:
        holds.place_hold(s, LEGAL, [999_999], PRESERVE)
    assert refused.value.status == 404
    with world.api.db.reader() as s:
        assert s.execute(select(EvidenceItem)).first() is None


def test_a_hold_and_a_deletion_at_the_same_moment_take_turns(world: Held) -> None:
    """Whichever goes first, the other sees it: never an erased subject whose hold kept its text."""
    for round_ in range(4):
        name = f"msg-{round_}"
        r = world.api.post("/api/v1/subjects", {"external_id": name, "kind": "message", "text": "see you at the station"})
        assert r.status_code == 201, r.text
        with world.api.db.reader() as s:
            subject_id = s.execute(select(Subject.id).where(Subject.external_id == name)).scalar_one()
        refused: list[int] = []

        def place(subject_id: int = subject_id) -> None:
            with world.api.db.session() as s:
                holds.place_hold(s, LEGAL, [subject_id], PRESERVE)

        def delete(subject_id: int = subject_id, refused: list[int] = refused) -> None:
            try:
                with world.api.db.session() as s:
                    delete_subject_data(s, LEGAL, [subject_id], "deleted on the host platform")
            except HeldError as exc:
                refused.append(exc.hold_id)

        together([place, delete])
        with world.api.db.reader() as s:
            erased = s.get_one(Subject, subject_id).erased_at is not None
            held = s.execute(select(EvidenceItem.body).join(HoldSubject, HoldSubject.hold_id == EvidenceItem.hold_id)
                             .where(HoldSubject.subject_id == subject_id, EvidenceItem.kind == "subject")).scalar_one()
        kept = orjson.loads(held)["text"]
        assert (erased, kept, bool(refused)) in {(True, None, False), (False, "see you at the station", True)}
