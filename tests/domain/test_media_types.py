"""Media types come from the first bytes, and only allow-listed image, video and audio is inline."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from trustdesk.domain.media_types import INLINE, UNKNOWN, named, sniff
from trustdesk.domain.vocabulary import MediaKind


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (1, 2, 3)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("head", "mime", "kind"),
    [
        (_image("JPEG"), "image/jpeg", MediaKind.IMAGE),
        (_image("PNG"), "image/png", MediaKind.IMAGE),
        (_image("GIF"), "image/gif", MediaKind.IMAGE),
        (_image("WEBP"), "image/webp", MediaKind.IMAGE),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4", MediaKind.VIDEO),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4", MediaKind.AUDIO),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime", MediaKind.VIDEO),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heif", MediaKind.IMAGE),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm", MediaKind.VIDEO),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska", MediaKind.VIDEO),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg", MediaKind.AUDIO),
        (b"\xff\xfb\x90\x64\x00", "audio/mpeg", MediaKind.AUDIO),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x1e\x01vorbis", "audio/ogg", MediaKind.AUDIO),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x80theora", "application/ogg", MediaKind.OTHER),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", MediaKind.AUDIO),
        (b"%PDF-1.7\n", "application/pdf", MediaKind.OTHER),
    ],
)
def test_types_are_found_from_the_bytes(head: bytes, mime: str, kind: MediaKind) -> None:
    found = sniff(head[:64])
    assert (found.mime, found.kind) == (mime, kind)
    assert named(mime) == found


@pytest.mark.parametrize(
    "head",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"<!doctype html><html><script>alert(1)</script></html>",
        b"\xef\xbb\xbf<html><body onload=alert(1)>",
        b"just some text",
        b"",
        b"\xff\xf1\x50\x80",  # AAC in ADTS: MPEG sync bits, but layer 0 is not MPEG audio
        b"\xff\xe0\x00\x00",  # sync bits with a reserved version and no bit rate
        b"\x1a\x45\xdf\xa3\x00\x00",  # EBML with no doc type
    ],
)
def test_markup_text_and_unknown_bytes_are_never_inline(head: bytes) -> None:
    assert sniff(head) == UNKNOWN
    assert not sniff(head).inline


def test_the_inline_allow_list_has_no_scriptable_type() -> None:
    assert all(mime.split("/")[0] in ("image", "video", "audio") for mime in INLINE)
    assert not {"image/svg+xml", "text/html", "application/xhtml+xml", "text/xml", "application/pdf"} & INLINE
    assert [sniff(_image(f)).inline for f in ("JPEG", "PNG", "GIF", "WEBP")] == [True] * 4
    assert not sniff(b"\x00\x00\x00\x14ftypqt  ").inline and not sniff(b"%PDF-1.4").inline
    assert named("image/svg+xml") == UNKNOWN and named(None) == UNKNOWN
