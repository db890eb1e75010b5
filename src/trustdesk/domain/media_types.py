"""What a media file is, decided from its first bytes — never from the type a client declared.

A browser runs script in SVG, HTML, XML and PDF, and guesses types of its own, so the console
shows inline only the image, video and audio types in `INLINE` and offers everything else as a
download. Recognising a type here says what the bytes claim to be; images are then decoded in
full before they are stored (`trustdesk.ingest.media`), so a file that merely starts like a PNG
is not shown as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustdesk.domain.vocabulary import MediaKind

# Enough for every signature below (WebM's doc type sits within the first few dozen bytes).
HEAD_BYTES = 64

INLINE = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/webm",
    "audio/mpeg", "audio/ogg", "audio/wav", "audio/mp4",
})


@dataclass(frozen=True)
class MediaType:
    mime: str
    kind: MediaKind
    extension: str

    @property
    def inline(self) -> bool:
        return self.mime in INLINE


UNKNOWN = MediaType("application/octet-stream", MediaKind.OTHER, "bin")
JPEG = MediaType("image/jpeg", MediaKind.IMAGE, "jpg")
PNG = MediaType("image/png", MediaKind.IMAGE, "png")
GIF = MediaType("image/gif", MediaKind.IMAGE, "gif")
WEBP = MediaType("image/webp", MediaKind.IMAGE, "webp")
MP4 = MediaType("video/mp4", MediaKind.VIDEO, "mp4")
M4A = MediaType("audio/mp4", MediaKind.AUDIO, "m4a")
QUICKTIME = MediaType("video/quicktime", MediaKind.VIDEO, "mov")
HEIF = MediaType("image/heif", MediaKind.IMAGE, "heif")
AVIF = MediaType("image/avif", MediaKind.IMAGE, "avif")
WEBM = MediaType("video/webm", MediaKind.VIDEO, "webm")
MATROSKA = MediaType("video/x-matroska", MediaKind.VIDEO, "mkv")
MP3 = MediaType("audio/mpeg", MediaKind.AUDIO, "mp3")
OGG_AUDIO = MediaType("audio/ogg", MediaKind.AUDIO, "ogg")
OGG = MediaType("application/ogg", MediaKind.OTHER, "ogx")
WAV = MediaType("audio/wav", MediaKind.AUDIO, "wav")
PDF = MediaType("application/pdf", MediaKind.OTHER, "pdf")

_BY_MIME = {t.mime: t for t in (JPEG, PNG, GIF, WEBP, MP4, M4A, QUICKTIME, HEIF, AVIF, WEBM, MATROSKA, MP3, OGG_AUDIO, OGG, WAV, PDF)}

# ISO base media file brands (bytes 8–12 after `ftyp`) that are not plain MP4 video.
_FTYP_BRANDS = {
    b"M4A ": M4A, b"M4B ": M4A, b"M4P ": M4A, b"F4A ": M4A,
    b"qt  ": QUICKTIME,
    b"heic": HEIF, b"heix": HEIF, b"mif1": HEIF, b"msf1": HEIF,
    b"avif": AVIF, b"avis": AVIF,
}
_OGG_AUDIO_CODECS = (b"OpusHead", b"\x01vorbis", b"\x7fFLAC", b"Speex   ")


def sniff(head: bytes) -> MediaType:
    """The type the first `HEAD_BYTES` of a file show; `UNKNOWN` for anything not recognised."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return WEBP if head[8:12] == b"WEBP" else WAV
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], MP4)
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM or Matroska, told apart by the doc type
        return WEBM if b"webm" in head else MATROSKA if b"matroska" in head else UNKNOWN
    if head.startswith(b"OggS"):
        return OGG_AUDIO if any(codec in head for codec in _OGG_AUDIO_CODECS) else OGG
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return MP3
    if head.startswith(b"%PDF-"):
        return PDF
    return UNKNOWN


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a defined version and layer, a usable bit rate."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer, bitrate = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11, head[2] >> 4
    return version != 0b01 and layer != 0b00 and bitrate not in (0b0000, 0b1111)


def named(mime: str | None) -> MediaType:
    """The known type of this name, `UNKNOWN` for any other: for media whose bytes were sniffed."""
    return _BY_MIME.get(mime or "", UNKNOWN)
