"""`POST /api/v1/subjects/{external_id}/deleted`: the host platform's deletion event, honoured
through the one deletion path unless a hold covers the subject (409 naming the hold)."""

from __future__ import annotations

from tests.evidence.conftest import LEGAL, Held
from trustdesk.config import Settings
from trustdesk.domain.legal_holds import HoldSpec
from trustdesk.evidence import holds
from trustdesk.store.models import Subject


def test_a_deleted_subject_is_erased_and_a_second_call_changes_nothing(world: Held) -> None:
    r = world.api.post("/api/v1/subjects/acc-2/deleted", {"reason": "account closed by its owner"})
    assert r.status_code == 200, r.text
    assert r.json() == {"erased": ["acc-2", "photo-2"], "already_erased": [], "media_items": 1, "media_files": 0, "account_events": 0}
    r = world.api.post("/api/v1/subjects/acc-2/deleted", {})
    assert r.status_code == 200, r.text
    assert r.json() == {"erased": [], "already_erased": ["acc-2", "photo-2"], "media_items": 0, "media_files": 0, "account_events": 0}


def test_the_last_user_of_a_file_takes_it_with_it(world: Held, settings: Settings) -> None:
    blob = settings.blob_dir / world.photo_sha256[:2] / world.photo_sha256[2:4] / world.photo_sha256
    assert world.api.post("/api/v1/subjects/photo-2/deleted", {}).status_code == 200
    assert blob.is_file()  # photo-1 still shows it
    r = world.api.post("/api/v1/subjects/photo-1/deleted", {})
    assert r.status_code == 200 and r.json()["media_files"] == 1
    assert not blob.exists()


def test_a_held_subject_is_kept_and_the_answer_names_the_hold(world: Held) -> None:
    with world.api.db.session() as s:
        hold_id = holds.place_hold(s, LEGAL, [world.ids["acc-1"]], HoldSpec("ncmec_report", "CyberTipline report filed")).id
    r = world.api.post("/api/v1/subjects/post-1/deleted", {})
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "hold_id" and r.json()["hold_id"] == hold_id
    assert f"legal hold {hold_id} covers subject 'post-1'" in r.json()["detail"]
    with world.api.db.reader() as s:
        assert s.get_one(Subject, world.ids["post-1"]).text == "meet me behind the school"
    with world.api.db.session() as s:
        holds.release_hold(s, LEGAL, hold_id, "report retracted")
    r = world.api.post("/api/v1/subjects/post-1/deleted", {})
    assert r.status_code == 200 and r.json()["erased"] == ["post-1"]


def test_an_unknown_subject_is_a_404(world: Held) -> None:
    r = world.api.post("/api/v1/subjects/nobody/deleted", {})
    assert r.status_code == 404 and r.json()["field"] == "external_id"
