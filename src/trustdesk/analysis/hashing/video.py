"""A video's key frames hashed with PDQ, so a video is matched against hash banks as pictures are.

Decoding video needs PyAV (FFmpeg), the `video` extra: `pip install 'trustdesk[video]'`. Without
it `video_installed()` is False and videos are matched by their exact hashes only. The decoder
is told to skip every frame but key frames, and stops after `MAX_KEY_FRAMES` of them, so a long
or hostile file costs bounded work. Each key frame gives its 8 dihedral hashes, as a picture
does; a frame too featureless to match on (a black title card) gives none.
"""

from __future__ import annotations

import importlib.util
from typing import BinaryIO

from trustdesk.analysis.hashing.pdq import DOWNSAMPLE, hash_image_dihedral
from trustdesk.domain.hash_banks import MIN_PDQ_QUALITY

MAX_KEY_FRAMES = 64


def video_installed() -> bool:
    return importlib.util.find_spec("av") is not None


def key_frame_hashes(stream: BinaryIO, *, limit: int = MAX_KEY_FRAMES) -> tuple[str, ...]:
    """The dihedral PDQ hashes of the video's first `limit` key frames: none for a file that is
    not a readable video, those read so far for one that breaks off. Call only when
    `video_installed()`."""
    import av  # the optional `video` extra

    found: list[str] = []
    try:
        with av.open(stream, mode="r") as container:
            if not container.streams.video:
                return ()
            video = container.streams.video[0]
            video.codec_context.skip_frame = "NONKEY"
            for number, frame in enumerate(container.decode(video)):
                if number >= limit:
                    break
                scale = min(1.0, DOWNSAMPLE / max(frame.width, frame.height, 1))
                image = frame.to_image(width=max(1, round(frame.width * scale)), height=max(1, round(frame.height * scale)))
                hashes = hash_image_dihedral(image)
                if hashes.quality >= MIN_PDQ_QUALITY:
                    found += hashes.hexes
    except Exception:  # noqa: BLE001 - decoders fail on hostile bytes in many ways: keep the frames read so far
        pass
    return tuple(found)
