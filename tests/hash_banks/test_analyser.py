"""Bank matches as signals: a near copy of a banked picture is found after analysis and moves its
case; a bank that calls for an action decides the subject once, automatically, with its statement
of reasons and its webhook; a review-only bank and a removed hash decide nothing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.cases.factories import SETUP, queue
from tests.conftest import Api
from trustdesk.analysis.analysers import AnalyserRegistry
from trustdesk.analysis.hashing.pdq import format_hashes, hash_image, open_image, parse_hashes
from trustdesk.analysis.runs import analyse
from trustdesk.audit.verify import verify_chain
from trustdesk.config import Settings
from trustdesk.delivery.endpoints import add_endpoint
from trustdesk.delivery.signing import SecretBox
from trustdesk.demo.images import render_photo
from trustdesk.domain.hash_banks import BankEntry, BankSpec
from trustdesk.domain.vocabulary import HashAlgorithm
from trustdesk.hash_banks.analyser import HashBankAnalyser
from trustdesk.hash_banks.banks import add_hashes, create_bank, remove_hash
from trustdesk.hash_banks.matcher import BankMatcher
from trustdesk.jobs.worker import run_worker
from trustdesk.store.blobs import FileBlobStore
from trustdesk.store.models import (
    App,
    AuditEvent,
    BankHash,
    Case,
    Decision,
    EnforcementAction,
    HashBank,
    OutboxMessage,
    Report,
    Signal,
    StatementOfReasons,
    Subject,
)

PHOTO = open_image(render_photo(3)).resize((512, 512))
CSAM_ROUTE = "signals.exists(s, s.label == 'csam')"


def _near_copy_hash(bits: int = 6) -> str:
    """The upright photo's PDQ with a few bits flipped: a bank entry for a re-encoded copy."""
    flat = np.unpackbits(parse_hashes([hash_image(PHOTO).hex]).astype(">u8").view(np.uint8))
    flat[np.random.default_rng(1).choice(256, size=bits, replace=False)] ^= 1
    return format_hashes(np.packbits(flat).view(">u8").astype(np.uint64)[None])[0]


def _turned_jpeg() -> bytes:
    out = io.BytesIO()
    PHOTO.transpose(Image.Transpose.ROTATE_90).save(out, format="JPEG", quality=80)
    return out.getvalue()


def _video(*stills: Image.Image, frames_each: int = 6) -> bytes:
    """An MP4 showing each still in turn, a key frame at the start of each."""
    av = pytest.importorskip("av")
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        stream.codec_context.gop_size = frames_each
        for still in stills:
            for _frame in range(frames_each):
                container.mux(stream.encode(av.VideoFrame.from_image(still.convert("RGB"))))
        container.mux(stream.encode(None))
    return out.getvalue()


def _bank(api: Api, name: str, *, policy_code: str | None = None, action: str | None = None) -> tuple[int, int]:
    """A csam bank holding the near copy's hash; its id and the hash's id."""
    with api.db.session() as s:
        bank = create_bank(s, SETUP, BankSpec(name, "csam", policy_code=policy_code, action=action))
        add_hashes(s, SETUP, bank, [BankEntry(HashAlgorithm.PDQ, _near_copy_hash())], source="test")
        return bank.id, s.execute(select(BankHash.id).where(BankHash.bank_id == bank.id)).scalar_one()


def _photo_subject(api: Api, ext: str = "post", file: tuple[str, bytes, str] | None = None) -> int:
    r = api.post("/api/v1/subjects", {"external_id": ext, "kind": "message", "text": "look", "language": "en"})
    assert r.status_code in (200, 201), r.text
    r = api.client.post(f"/api/v1/subjects/{ext}/media", files={"file": file or ("p.jpg", _turned_jpeg(), "image/jpeg")},
                        headers=api.auth)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def _report(api: Api, subject_ext: str = "post") -> int:
    r = api.post("/api/v1/reports", {"external_id": f"r-{subject_ext}", "subject_external_id": subject_ext,
                                     "policy_code": "SPAM", "reporter_type": "anonymous"})
    assert r.status_code == 201, r.text
    with api.db.reader() as s:
        return s.get_one(Report, r.json()["id"]).case_id


def _banks_only(api: Api, settings: Settings) -> AnalyserRegistry:
    registry = AnalyserRegistry(group=None)
    registry.register(HashBankAnalyser(BankMatcher(api.db, max_age=0), FileBlobStore(settings.blob_dir)))
    return registry


def _count(api: Api, model: type) -> int:
    with api.db.reader() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_turned_near_copy_of_a_banked_picture_is_a_signal_that_re_scores_and_re_routes_the_case(api: Api, settings: Settings) -> None:
    with api.db.session() as s:
        queue(s, "General")
        urgent = queue(s, "Known media", routing_expression=CSAM_ROUTE, position=1).id
    bank_id, hash_id = _bank(api, "known")
    subject_id = _photo_subject(api)
    case_id = _report(api)
    with api.db.reader() as s:
        before = s.get_one(Case, case_id)
        media_id = s.get_one(Subject, subject_id).media_items[0].id
    analysers = _banks_only(api, settings)

    with api.db.session() as s:
        assert analyse(s, SETUP, [subject_id], analysers) == {subject_id: 1}
    with api.db.session() as s:  # the same content again: nothing new
        assert analyse(s, SETUP, [subject_id], analysers) == {subject_id: 0}
    with api.db.reader() as s:
        [signal] = s.execute(select(Signal)).scalars().all()
        after = s.get_one(Case, case_id)
        assert verify_chain(s).ok
    assert (signal.analyser, signal.label, signal.score, signal.model_version) == ("hash_banks", "csam", None, "1")
    assert signal.match == f"bank:known/{hash_id}"
    assert signal.evidence["bank"] == "known" and signal.evidence["algorithm"] == "pdq"
    assert signal.evidence["media_id"] == media_id and signal.evidence["bank_ids"] == [bank_id]
    assert 6 <= signal.evidence["distance"] <= 31 and signal.evidence["matches"] == 1
    assert after.priority_reasons["signals"] == 40.0  # a match counts as a score of 1.0
    assert after.priority_score == before.priority_score + 40.0
    assert after.queue_id == urgent and after.status == "open"
    assert _count(api, Decision) == 0  # review only: nothing is decided


def test_an_action_bank_decides_once_automatically_with_a_statement_and_a_webhook(api: Api, settings: Settings) -> None:
    with api.db.session() as s:
        add_endpoint(s, SETUP, SecretBox(settings.secret_key), s.get_one(App, api.app_id), "http://127.0.0.1:9/hook", production=False)
    bank_id, _hash_id = _bank(api, "takedown", policy_code="CSAM", action="remove")
    subject_id = _photo_subject(api)
    case_id = _report(api)
    analysers = _banks_only(api, settings)

    for _run in range(2):
        with api.db.session() as s:
            analyse(s, SETUP, [subject_id], analysers)
    r = api.client.patch("/api/v1/subjects/post", json={"text": "look again"}, headers=api.auth)
    assert r.status_code == 200, r.text
    with api.db.session() as s:  # new content: a new signal, but the subject is already taken down by the bank
        assert analyse(s, SETUP, [subject_id], analysers) == {subject_id: 1}

    with api.db.reader() as s:
        [decision] = s.execute(select(Decision)).scalars().all()
        [action] = s.execute(select(EnforcementAction)).scalars().all()
        [statement] = s.execute(select(StatementOfReasons)).scalars().all()
        [message] = s.execute(select(OutboxMessage)).scalars().all()
        taken = s.execute(select(AuditEvent).where(AuditEvent.verb == "hash_bank.action_taken")).scalars().all()
        case = s.get_one(Case, case_id)
        subject = s.get_one(Subject, subject_id)
        assert verify_chain(s).ok
    assert (decision.kind, decision.reviewer_id, decision.subject_id, decision.case_id) == ("automated", None, subject_id, case_id)
    assert (decision.policy_code, decision.verdict, decision.actions) == ("CSAM", "violation", ["remove"])
    assert decision.automated_detection is True and decision.automated_decision == "fully"
    assert decision.rationale.startswith("The media matched hash bank 'takedown' (csam): pdq at distance ")
    assert (action.kind, action.decision_id, action.subject_id) == ("remove", decision.id, subject_id)
    assert subject.visibility == action.visibility_after == "removed"
    assert statement.action_id == action.id
    assert statement.body["automated_detection"] == "Yes"
    assert statement.body["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert (message.event_type, message.action_id) == ("action.applied", action.id)
    assert message.payload["data"]["statement_of_reasons_id"] == statement.id
    assert case.status == "decided"
    assert [(e.object_id, e.after["decision_id"], e.after["subject_id"]) for e in taken] == [(str(bank_id), decision.id, subject_id)]


def test_an_action_the_policy_refuses_is_recorded_and_the_signal_still_stored(api: Api, settings: Settings) -> None:
    bank_id, _hash_id = _bank(api, "wrong", policy_code="SPAM", action="cascade_takedown")
    subject_id = _photo_subject(api)
    with api.db.session() as s:
        assert analyse(s, SETUP, [subject_id], _banks_only(api, settings)) == {subject_id: 1}
    with api.db.reader() as s:
        [refused] = s.execute(select(AuditEvent).where(AuditEvent.verb == "hash_bank.action_refused")).scalars().all()
    assert refused.object_id == str(bank_id) and refused.after["field"] == "actions"
    assert (_count(api, Decision), _count(api, Signal)) == (0, 1)


def test_a_removed_bank_hash_no_longer_matches(api: Api, settings: Settings) -> None:
    bank_id, _hash_id = _bank(api, "takedown", policy_code="CSAM", action="remove")
    analysers = _banks_only(api, settings)  # one matcher throughout, as in a running worker
    first = _photo_subject(api, "first")
    with api.db.session() as s:
        assert analyse(s, SETUP, [first], analysers) == {first: 1}
        remove_hash(s, SETUP, s.get_one(HashBank, bank_id), _near_copy_hash(), "pdq")
    second = _photo_subject(api, "second")
    with api.db.session() as s:
        assert analyse(s, SETUP, [second], analysers) == {second: 0}
    with api.db.reader() as s:
        assert s.execute(select(Signal.subject_id)).scalars().all() == [first]
        assert s.execute(select(Decision.subject_id)).scalars().all() == [first]


def test_the_worker_matches_uploaded_media_against_the_banks(api: Api, settings: Settings) -> None:
    _bank_id, hash_id = _bank(api, "known")
    subject_id = _photo_subject(api)
    while run_worker(api.db, settings, worker_id="w1", once=True):
        pass
    with api.db.reader() as s:
        found = s.execute(select(Signal.label, Signal.match).where(Signal.analyser == "hash_banks")).all()
        assert s.get_one(Subject, subject_id).media_items
    assert [tuple(row) for row in found] == [("csam", f"bank:known/{hash_id}")]


def test_a_video_with_a_key_frame_showing_a_banked_picture_matches(api: Api, settings: Settings) -> None:
    clip = _video(open_image(render_photo(4)).resize((512, 512)), PHOTO.transpose(Image.Transpose.ROTATE_90))
    bank_id, hash_id = _bank(api, "known")
    subject_id = _photo_subject(api, "clip", ("clip.mp4", clip, "video/mp4"))
    unrelated = _photo_subject(api, "other", ("other.mp4", _video(open_image(render_photo(5)).resize((512, 512))), "video/mp4"))
    with api.db.session() as s:
        assert analyse(s, SETUP, [subject_id, unrelated], _banks_only(api, settings)) == {subject_id: 1, unrelated: 0}
        [signal] = s.execute(select(Signal)).scalars().all()
        item = s.get_one(Subject, subject_id).media_items[0]
    assert item.kind == "video"
    assert (signal.subject_id, signal.label, signal.match) == (subject_id, "csam", f"bank:known/{hash_id}")
    assert signal.evidence["media_id"] == item.id and signal.evidence["algorithm"] == "pdq"
    assert signal.evidence["distance"] <= 31 and signal.evidence["bank_ids"] == [bank_id]
