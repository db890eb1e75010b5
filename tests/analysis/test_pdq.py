"""PDQ hashes of pictures: the standard hex form, and matching turned and mirrored copies."""

from __future__ import annotations

import io

import numpy as np
import pdqhash
import pytest
from PIL import Image

from trustdesk.analysis.hashing.pdq import (
    UnreadableImage,
    distance,
    format_hashes,
    hash_image,
    hash_image_dihedral,
    open_image,
    parse_hashes,
)
from trustdesk.analysis.hashing.pdq_index import DEFAULT_THRESHOLD, PdqIndex
from trustdesk.demo.images import render_photo


def _photo(seed: int, size: int = 512) -> Image.Image:
    """A demo picture at a typical photo size (PDQ's filters are not exactly symmetric on tiny ones)."""
    return open_image(render_photo(seed)).resize((size, size))


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def test_hex_round_trip_keeps_every_bit() -> None:
    hashes = np.random.default_rng(5).integers(0, 2**64, size=(50, 4), dtype=np.uint64)
    hexes = format_hashes(hashes)
    assert all(len(h) == 64 and h == h.lower() for h in hexes)
    assert np.array_equal(parse_hashes(hexes), hashes)
    assert np.array_equal(parse_hashes([h.upper() for h in hexes]), hashes)
    assert distance(hexes[0], hexes[0]) == 0
    assert distance("0" * 64, "f" * 64) == 256
    assert distance("0" * 63 + "7", "0" * 64) == 3


@pytest.mark.parametrize("bad", ["ab" * 31, "ab" * 33, "g" + "a" * 63, " " + "a" * 63, "a" * 62 + "\t\n", None])
def test_malformed_hex_is_refused_naming_the_entry(bad: object) -> None:
    with pytest.raises(ValueError, match="hash 1"):
        parse_hashes(["ab" * 32, bad])  # type: ignore[list-item]


def test_hex_is_the_reference_bit_order() -> None:
    """Bit 0 of pdqhash's vector is the highest bit: the first hex digit, as ThreatExchange prints it."""
    pixels = np.asarray(_photo(1).convert("RGB"))
    vector, quality = pdqhash.compute(pixels)
    expected = format(int("".join(str(int(bit)) for bit in vector), 2), "064x")
    assert hash_image(_photo(1)).hex == expected
    assert hash_image(_photo(1)).quality == quality


def test_dihedral_hashes_start_with_the_plain_hash() -> None:
    photo = _photo(2)
    variants = hash_image_dihedral(photo)
    assert len(variants.hexes) == 8 and len(set(variants.hexes)) == 8
    assert variants.hexes[0] == hash_image(photo).hex
    assert variants.quality == hash_image(photo).quality


@pytest.mark.parametrize("transpose", list(Image.Transpose), ids=lambda t: t.name)
def test_a_turned_or_mirrored_copy_matches_through_its_eight_hashes(transpose: Image.Transpose) -> None:
    originals = [_photo(seed) for seed in range(3)]
    index = PdqIndex.build([100, 101, 102], [hash_image(photo).hex for photo in originals])
    for seed, photo in enumerate(originals):
        copy = open_image(_jpeg(photo.transpose(transpose)))  # re-encoded, as a re-upload would be
        assert index.query(hash_image(copy).hex) == []  # one hash alone misses it
        matches = index.query_any(hash_image_dihedral(copy).hexes)
        assert [m.id for m in matches] == [100 + seed]
        assert matches[0].distance <= DEFAULT_THRESHOLD


@pytest.mark.parametrize("transpose", list(Image.Transpose), ids=lambda t: t.name)
@pytest.mark.parametrize("size", [512, 256, 300])
def test_a_lossless_turned_or_mirrored_copy_matches_exactly(transpose: Image.Transpose, size: int) -> None:
    """At 512 pixels a side a copy turned by 180° was 30 bits away, at 256 as many as 50."""
    photo = _photo(4, size=size)
    lossless = io.BytesIO()
    photo.transpose(transpose).save(lossless, format="PNG")
    assert hash_image(photo).hex in hash_image_dihedral(open_image(lossless.getvalue())).hexes


def test_large_pictures_are_hashed_from_a_downsampled_copy() -> None:
    big = _photo(3, size=2048)
    assert distance(hash_image(big).hex, hash_image(_photo(3)).hex) <= 8


@pytest.mark.parametrize("data", [b"", b"not an image", render_photo(4)[:200]])
def test_unreadable_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(UnreadableImage):
        open_image(data)


def test_a_decompression_bomb_is_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")  # 144 Mpx in a few kB
    with pytest.raises(UnreadableImage):
        open_image(out.getvalue())


@pytest.mark.parametrize("size", [(1, 1), (4, 4), (1, 600), (300, 300)])
def test_featureless_or_tiny_pictures_hash_with_quality_zero(size: tuple[int, int]) -> None:
    """Such hashes match one another and say nothing: quality is how a bank tells them apart."""
    assert hash_image(Image.new("RGB", size, (10, 200, 30))).quality == 0
    assert hash_image(_photo(5)).quality >= 50
