"""The per-process matcher: exact against brute force with each bank's own threshold, turned and
mirrored pictures found, and hashes added or removed through another connection picked up
without a rebuild."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import insert, update

from trustdesk.analysis.hashing.pdq import format_hashes, hash_image, open_image, parse_hashes
from trustdesk.audit.log import Actor
from trustdesk.demo.images import render_photo
from trustdesk.domain.hash_banks import BankEntry, BankSpec
from trustdesk.domain.vocabulary import HashAlgorithm
from trustdesk.hash_banks.banks import add_hashes, create_bank
from trustdesk.hash_banks.matcher import BankMatcher, MediaHashes, media_hashes
from trustdesk.store.database import Database
from trustdesk.store.models import BankHash, HashBank, utcnow

ACTOR = Actor("cli", "operator")
THRESHOLDS = {"tight": 8, "default": 31, "loose": 40}


def _banks(db: Database, thresholds: dict[str, int] = THRESHOLDS) -> dict[str, int]:
    with db.session() as s:
        return {name: create_bank(s, ACTOR, BankSpec(name, "scam", pdq_threshold=t)).id for name, t in thresholds.items()}


def _add(db: Database, bank_id: int, algorithm: HashAlgorithm, values: list[str]) -> None:
    with db.session() as s:
        add_hashes(s, ACTOR, s.get(HashBank, bank_id), [BankEntry(algorithm, v) for v in values], source="test")


def _flipped(base: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    flat = np.unpackbits(base.astype(">u8").view(np.uint8))
    flat[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(flat).view(">u8").astype(np.uint64)


def test_pdq_matches_equal_brute_force_with_each_banks_threshold(db: Database) -> None:
    rng = np.random.default_rng(8)
    banks = _banks(db)
    names = list(banks)
    queries = rng.integers(0, 2**64, size=(12, 4), dtype=np.uint64)
    # Background beyond the index's delta, so its tables are probed, plus near copies of every
    # query at 0–40 bits in every bank: the ones just inside and just outside each threshold.
    rows: dict[str, list[str]] = {name: format_hashes(rng.integers(0, 2**64, size=(3_000, 4), dtype=np.uint64)) for name in names}
    for query in queries:
        for bits in range(0, 41, 3):
            rows[names[int(rng.integers(3))]].append(format_hashes(_flipped(query, bits, rng)[None])[0])
    for name in names:
        _add(db, banks[name], HashAlgorithm.PDQ, rows[name])
    matcher = BankMatcher(db)
    matcher.refresh()

    bank_of = {value: name for name in names for value in rows[name]}
    all_values = [v for name in names for v in rows[name]]
    stored = parse_hashes(all_values)
    for query in queries:
        variants = np.vstack([query[None], rng.integers(0, 2**64, size=(7, 4), dtype=np.uint64)])
        distances = np.bitwise_count(stored[:, None, :] ^ variants[None, :, :]).sum(axis=2).min(axis=1)
        expected = sorted((bank_of[v], int(d)) for v, d in zip(all_values, distances) if d <= THRESHOLDS[bank_of[v]])
        found = matcher.match(MediaHashes(pdq=tuple(format_hashes(variants))))
        assert sorted((m.bank, m.distance) for m in found) == expected
        assert expected  # the planted copy at distance 0 is always there


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


@pytest.mark.parametrize("transpose", [Image.Transpose.ROTATE_90, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.TRANSVERSE])
def test_a_turned_or_mirrored_copy_of_a_banked_picture_matches(db: Database, transpose: Image.Transpose) -> None:
    photo = open_image(render_photo(3)).resize((512, 512))
    banks = _banks(db, {"ncii": 31})
    _add(db, banks["ncii"], HashAlgorithm.PDQ, [hash_image(photo).hex])
    matcher = BankMatcher(db)
    [found] = matcher.match(media_hashes(_jpeg(photo.transpose(transpose))))
    assert found.bank == "ncii" and found.algorithm == "pdq" and found.distance <= 31
    assert matcher.match(media_hashes(render_photo(4))) == []


def test_a_featureless_picture_or_other_bytes_are_queried_by_exact_hashes_only() -> None:
    flat = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 10, 10)).save(flat, format="PNG")
    assert media_hashes(flat.getvalue()).pdq == ()  # PDQ quality 0: it would match every flat red picture
    text = media_hashes(b"not a picture")
    assert text == MediaHashes(hashlib.md5(b"not a picture").hexdigest(), hashlib.sha256(b"not a picture").hexdigest())
    assert len(media_hashes(render_photo(3)).pdq) == 8


def test_md5_and_sha256_match_exactly_in_every_bank_holding_them(db: Database) -> None:
    data = render_photo(9)
    hashes = media_hashes(data)
    banks = _banks(db, {"a": 31, "b": 31})
    _add(db, banks["a"], HashAlgorithm.MD5, [hashes.md5])
    _add(db, banks["b"], HashAlgorithm.SHA256, [hashes.sha256])
    found = BankMatcher(db).match(MediaHashes(md5=hashes.md5.upper(), sha256=hashes.sha256))
    assert sorted((m.bank, m.algorithm, m.distance) for m in found) == [("a", "md5", 0), ("b", "sha256", 0)]


def test_changes_through_another_connection_are_seen_without_a_rebuild(db: Database, settings) -> None:
    banks = _banks(db, {"scam": 31})
    pdq = format_hashes(np.random.default_rng(2).integers(0, 2**64, size=(2, 4), dtype=np.uint64))
    matcher = BankMatcher(db, max_age=3600)
    matcher.refresh()
    query = MediaHashes(pdq=(pdq[0],), md5="a" * 32)
    assert matcher.match(query) == []

    other = Database(settings.effective_database_url)  # another process's connection
    try:
        _add(other, banks["scam"], HashAlgorithm.PDQ, [pdq[0]])
        _add(other, banks["scam"], HashAlgorithm.MD5, ["a" * 32])
        assert matcher.match(query) == []  # not yet refreshed: max_age is an hour
        assert matcher.refresh() == 2
        assert sorted(m.algorithm for m in matcher.match(query)) == ["md5", "pdq"]

        # An id committed after a higher one was read (out-of-order commits) is still picked up.
        with other.session() as s:
            s.execute(insert(BankHash).values(id=1_000, bank_id=banks["scam"], algorithm="md5", value="b" * 32,
                                              note="", added_by="test", added_at=utcnow()))
        matcher.refresh()
        with other.session() as s:
            s.execute(insert(BankHash).values(id=500, bank_id=banks["scam"], algorithm="pdq", value=pdq[1],
                                              note="", added_by="test", added_at=utcnow()))
        assert matcher.refresh() == 1
        assert [m.bank_hash_id for m in matcher.match(MediaHashes(pdq=(pdq[1],)))] == [500]

        with other.session() as s:
            s.execute(update(BankHash).where(BankHash.algorithm == "pdq").values(removed_at=utcnow()))
            s.execute(update(HashBank).values(pdq_threshold=0))
        assert matcher.refresh() == 2
        assert [m.algorithm for m in matcher.match(query)] == ["md5"]
        with other.session() as s:
            s.execute(update(HashBank).values(active=False))
        fresh = BankMatcher(other, max_age=0)  # refreshes before every match
        assert len(fresh.match(MediaHashes(md5="a" * 32))) == 0
        assert len(fresh) == 2  # both md5 rows held; the bank is just inactive
    finally:
        other.dispose()
