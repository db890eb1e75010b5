"""What checking media before it is stored costs: type from the bytes plus a full Pillow decode.

    python bench/media_check.py            # 20 rounds of each file
    python bench/media_check.py --rounds 5

Each file is stored once by `BlobStore.put` alone and once by `media.check_and_store`, into a
fresh blob directory; the figures are median milliseconds per file and the ratio of the two.
Photos are noisy pictures at typical sizes; an MP4-like file of 8 MiB needs no decode.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from trustdesk.ingest import media
from trustdesk.store.blobs import FileBlobStore


def _photo(width: int, height: int, fmt: str) -> bytes:
    rng = random.Random(width)
    small = Image.frombytes("RGB", (64, 48), bytes(rng.randrange(256) for _ in range(64 * 48 * 3)))
    out = io.BytesIO()
    small.resize((width, height), Image.BICUBIC).save(out, format=fmt, quality=85)
    return out.getvalue()


def _median_ms(action: Callable[[bytes], object], body: bytes, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action(body)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(rounds: int) -> None:
    files = {
        "JPEG 1080 x 1350 (feed photo)": _photo(1080, 1350, "JPEG"),
        "JPEG 4000 x 3000 (12 MP camera)": _photo(4000, 3000, "JPEG"),
        "PNG 1920 x 1080 (screenshot)": _photo(1920, 1080, "PNG"),
        "MP4-like 8 MiB (no decode)": b"\x00\x00\x00\x20ftypisom" + bytes(8 * 1024 * 1024),
    }
    with tempfile.TemporaryDirectory() as tmp:
        plain = FileBlobStore(Path(tmp) / "plain")
        checked = FileBlobStore(Path(tmp) / "checked")
        print(f"{'file':34} {'size':>9} {'put ms':>8} {'checked ms':>11} {'ratio':>6}")
        for name, body in files.items():
            put_ms = _median_ms(lambda b: plain.put(io.BytesIO(b)), body, rounds)
            check_ms = _median_ms(lambda b: media.check_and_store(checked, io.BytesIO(b)), body, rounds)
            print(f"{name:34} {len(body) / 1024:7.0f} KiB {put_ms:8.1f} {check_ms:11.1f} {check_ms / put_ms:5.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    main(parser.parse_args().rounds)
