"""The retention job releases holds whose clock ran out and erases, through the deletion path,
what no hold covers once its kind's retention passed; what a hold covers stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select, update

from tests.evidence.conftest import LEGAL, Held
from trustdesk.config import Settings
from trustdesk.domain.legal_holds import HoldSpec
from trustdesk.evidence import custody, holds
from trustdesk.privacy.retention import purge_due
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import AccountEvent, EvidenceItem, LegalHold, Subject, utcnow


def test_an_expired_hold_is_released_then_what_it_covered_is_purged_when_due(world: Held, settings: Settings) -> None:
    with world.api.db.session() as s:
        ncmec = holds.place_hold(s, LEGAL, [world.ids["acc-1"]], HoldSpec("ncmec_report", "CyberTipline report 88213")).id
        manual = holds.place_hold(s, LEGAL, [world.ids["acc-2"]], HoldSpec("manual", "counsel", review_on=date.today() + timedelta(days=9))).id
    with world.api.db.session() as s:  # everything is old now
        s.execute(update(Subject).values(updated_at=utcnow() - timedelta(days=800)))
        s.execute(update(AccountEvent).values(occurred_at=utcnow() - timedelta(days=400)))
    blobs = FileBlobStore(settings.blob_dir)
    soon = utcnow() + timedelta(days=30)
    early = purge_due(world.api.db, settings, blobs, now=soon)
    assert (early.holds_released, early.subjects, early.account_events, early.evidence_items) == (0, 0, 0, 0)

    a_year_on = utcnow() + timedelta(days=366)
    done = purge_due(world.api.db, replace(settings, retention_days=(("evidence", 3),)), blobs, now=a_year_on)
    assert (done.holds_released, done.subjects, done.account_events, done.files) == (1, 2, 1, 0)
    with world.api.db.reader() as s:
        assert s.get_one(LegalHold, ncmec).released_by == "system:retention"
        assert custody.log_of(s, ncmec)[-1].reason == "its retention clock ran out (ncmec_report)"
        erased = {x.external_id for x in s.execute(select(Subject).where(Subject.erased_at.is_not(None))).scalars()}
        assert erased == {"post-1", "photo-1"}  # accounts are not content; photo-2 is under the manual hold
        assert s.get_one(Subject, world.ids["photo-2"]).media_items != []
        assert s.execute(select(AccountEvent.ip)).scalar_one() is None
        assert s.get_one(LegalHold, manual).released_at is None
        assert s.get_one(LegalHold, ncmec).released_at == s.get_one(LegalHold, ncmec).expires_at
        assert len(holds.items_of(s, ncmec)) == 6  # released a day ago: kept three days

    later = purge_due(world.api.db, replace(settings, retention_days=(("evidence", 3),)), blobs, now=a_year_on + timedelta(days=3))
    assert (later.evidence_items, later.files) == (6, 0)  # the file is still photo-2's and in the manual hold's set
    with world.api.db.reader() as s:
        assert s.execute(select(EvidenceItem.hold_id).distinct()).scalars().all() == [manual]
        assert [e.verb for e in custody.log_of(s, ncmec)] == ["place", "release"]  # the record of the hold stays
