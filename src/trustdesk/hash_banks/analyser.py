"""The hash banks' analyser: every stored media file of a subject matched against the active banks.

It needs two things only a running process has: the process's `BankMatcher` (the banks'
hashes, kept current from the database) and the blob store holding the media bytes. It gets
them when it is made, by `trustdesk.analysis.runs.analysers_for`, which the worker's
`analyse_subject` job and `trustdesk analyze subject` use; so the `Analyser` interface and
`SubjectView` stay as they are, and an analyser still never touches the database.

A picture is queried by its 8 PDQ hashes (turned and mirrored), computed from its bytes here,
in the analysis job: intake never waits for hashing, and a media item keeps one hash per
algorithm, not eight. A video is queried by those of its key frames too, when the `video` extra
is installed (`trustdesk.analysis.hashing.video`). Every file is also queried by the MD5 and
SHA-256 stored at intake.

Each bank kind that matched is one signal, labelled with the kind (`csam`, `terror` …). Its
`match` is the best hit as `bank:<bank name>/<bank hash id>` — a bank calling for an action
before a review-only one, then exact before PDQ, then nearest — and its evidence names that
hit's bank, algorithm, distance and media item, and the ids of every bank of the kind that
matched, which `trustdesk.hash_banks.actions` acts on. The version is fixed: banks change
all the time, and a version following them would store every subject's signals again. A
signal is stored once per content, so a match is acted on when it is first found.
"""

from __future__ import annotations

from dataclasses import replace

from trustdesk.analysis.analysers import Analyser, MediaView, SignalFound, SubjectView
from trustdesk.analysis.hashing.video import key_frame_hashes, video_installed
from trustdesk.domain.vocabulary import HashAlgorithm, MediaKind
from trustdesk.hash_banks.matcher import BankMatch, BankMatcher, MediaHashes, media_hashes
from trustdesk.store.blobs import BlobStore

_Hit = tuple[int, BankMatch]  # media item id, what it matched


class HashBankAnalyser(Analyser):
    name = "hash_banks"
    version = "1"

    def __init__(self, matcher: BankMatcher, blobs: BlobStore) -> None:
        self._matcher = matcher
        self._blobs = blobs

    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        by_kind: dict[str, list[_Hit]] = {}
        hits = [(media.id, match) for media in subject.media for match in self._matcher.match(self._hashes(media))]
        for hit in sorted(hits, key=_rank):
            by_kind.setdefault(hit[1].kind, []).append(hit)
        return [_signal(kind, found) for kind, found in sorted(by_kind.items())]

    def _hashes(self, media: MediaView) -> MediaHashes:
        """A picture's hashes from its bytes, a video's stored ones with its key frames' PDQ,
        any other file's as stored."""
        stored = MediaHashes(media.hashes.get(HashAlgorithm.MD5.value), media.hashes.get(HashAlgorithm.SHA256.value))
        hashed_by_pdq = media.kind == MediaKind.IMAGE or (media.kind == MediaKind.VIDEO and video_installed())
        if not hashed_by_pdq or not media.blob_sha256:
            return stored
        try:
            with self._blobs.open(media.blob_sha256) as stream:
                if media.kind == MediaKind.IMAGE:
                    return media_hashes(stream.read())
                return replace(stored, pdq=key_frame_hashes(stream))
        except FileNotFoundError:
            return stored


def _rank(hit: _Hit) -> tuple[bool, bool, int, int]:
    media_id, match = hit
    return match.action is None, match.algorithm == HashAlgorithm.PDQ, match.distance, media_id


def _signal(kind: str, found: list[_Hit]) -> SignalFound:
    media_id, best = found[0]
    return SignalFound(kind, match=f"bank:{best.bank}/{best.bank_hash_id}", evidence={
        "bank": best.bank, "algorithm": best.algorithm, "distance": best.distance, "media_id": media_id,
        "bank_ids": sorted({match.bank_id for _, match in found}), "matches": len(found),
    })
