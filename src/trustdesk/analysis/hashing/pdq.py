"""PDQ perceptual hashes of images, and the hex form hash banks store them in.

A PDQ hash is 256 bits; banks exchange and store it as 64 lowercase hex characters, the first
character holding the highest bits (the form ThreatExchange and the reference hasher print).
In memory a batch of hashes is an `(n, 4)` array of `uint64` words, word 0 holding hex
characters 0–15, so that a Hamming distance is four XORs and popcounts.

An image is hashed together with its 8 rotations and flips (the dihedral group): a bank entry
hashed from the upright picture still matches a copy that was turned or mirrored, at the cost of
querying 8 hashes instead of one. Each is the plain hash of the turned or mirrored pixels.
pdqhash's own shortcut (`compute_dihedral`, which derives the 8 from the upright picture's
transform) is off by up to 50 bits at many sizes, 512 pixels a side among them, because PDQ's
filters are not symmetric there: a copy turned by 180°, even a lossless one, escaped a bank.
Hashing 8 times costs about 7 times as much, in the worker, and makes the match exact.
"""

from __future__ import annotations

import io
import string
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

BITS = 256
HEX_LENGTH = BITS // 4
# The reference hasher brings large pictures down to at most 512 pixels a side before its own
# filter: the filter's cost grows with the pixel count, and the hash barely changes.
DOWNSAMPLE = 512

HashArray = np.ndarray  # (n, 4) uint64, see the module docstring
_HEX_DIGITS = frozenset(string.hexdigits)


@dataclass(frozen=True, slots=True)
class PdqHash:
    """One picture's hash and PDQ's quality (0–100; low means too featureless to match well)."""

    hex: str
    quality: int


@dataclass(frozen=True, slots=True)
class DihedralHashes:
    """The hashes of a picture as it is, turned 90°, 180°, 270°, and mirrored (`_DIHEDRAL`'s order)."""

    hexes: tuple[str, ...]
    quality: int


class UnreadableImage(ValueError):
    """The bytes are not a picture Pillow can decode (or one too large to decode safely)."""


def hash_image(image: Image.Image) -> PdqHash:
    vector, quality = pdqhash.compute(_pixels(image))
    return PdqHash(_vector_hex(vector), int(quality))


def hash_image_dihedral(image: Image.Image) -> DihedralHashes:
    pixels = _pixels(image)
    hashed = [pdqhash.compute(np.ascontiguousarray(turn(pixels))) for turn in _DIHEDRAL]
    return DihedralHashes(tuple(_vector_hex(vector) for vector, _quality in hashed), int(hashed[0][1]))


# As it is, turned 90°, 180° and 270° anticlockwise, then mirrored left to right and turned alike.
_DIHEDRAL = (
    lambda a: a, lambda a: np.rot90(a, 1), lambda a: np.rot90(a, 2), lambda a: np.rot90(a, 3),
    lambda a: a[:, ::-1], lambda a: np.rot90(a[:, ::-1], 1), lambda a: np.rot90(a[:, ::-1], 2), lambda a: np.rot90(a[:, ::-1], 3),
)


def open_image(data: bytes) -> Image.Image:
    """Decode untrusted bytes; any failure, a decompression bomb included, is `UnreadableImage`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.draft("RGB", (DOWNSAMPLE, DOWNSAMPLE))
            image.load()
    except Exception as exc:  # decoders fail on hostile bytes in many ways; each means "unreadable"
        raise UnreadableImage(f"not a readable image: {exc}") from exc
    return image


def _pixels(image: Image.Image) -> np.ndarray:
    """RGB pixels, capped at DOWNSAMPLE a side, as the contiguous uint8 array pdqhash takes."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    if width > DOWNSAMPLE or height > DOWNSAMPLE:
        rgb = rgb.resize((min(width, DOWNSAMPLE), min(height, DOWNSAMPLE)), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _vector_hex(vector: np.ndarray) -> str:
    """pdqhash gives 256 bits highest first, so packing them yields the standard hex string."""
    return np.packbits(vector.astype(np.uint8)).tobytes().hex()


def parse_hashes(hexes: Iterable[str]) -> HashArray:
    """Hex strings to an `(n, 4)` uint64 array; `ValueError` names the first bad entry's index."""
    texts = list(hexes)
    try:
        raw = bytes.fromhex("".join(texts))
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != len(texts) * BITS // 8 or any(len(text) != HEX_LENGTH for text in texts):
        bad = next(i for i, text in enumerate(texts) if not _is_hash_hex(text))
        raise ValueError(f"hash {bad}: a PDQ hash is {HEX_LENGTH} hex characters, got {texts[bad]!r:.80}")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)


def format_hashes(hashes: HashArray) -> list[str]:
    raw = np.ascontiguousarray(hashes, dtype=">u8").tobytes()
    step = BITS // 8
    return [raw[i : i + step].hex() for i in range(0, len(raw), step)]


def distance(a: str, b: str) -> int:
    """Hamming distance of two hex hashes."""
    pair = parse_hashes((a, b))
    return int(np.bitwise_count(pair[0] ^ pair[1]).sum())


def _is_hash_hex(text: object) -> bool:
    return isinstance(text, str) and len(text) == HEX_LENGTH and _HEX_DIGITS.issuperset(text)
