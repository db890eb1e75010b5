"""Analysers: what turns a subject's content into signals (a label with a score or a match).

Every analyser implements `Analyser`: a `name` (unique, stored with each signal), a `version`
(the model or bank version it scored with, stored too, so a re-run of the same version on the
same content adds nothing) and `analyse`, which reads a `SubjectView` — a frozen copy of the
subject, its media items and their hashes, never a database session — and returns
`SignalFound`s. The worker runs every registered analyser after intake and on demand
(`trustdesk.analysis.signals`), stores what they found and re-scores and re-routes the
subject's open case.

To add an analyser from your own package, subclass `Analyser` and name the class (or a
function returning an instance) in the `trustdesk.analysers` entry-point group:

    class ScamLinks(Analyser):
        name = "scam_links"
        version = "2026-12"

        def analyse(self, subject: SubjectView) -> list[SignalFound]:
            found = KNOWN_SCAM_DOMAINS.intersection(domains_in(subject.content_text))
            return [SignalFound("spam_scam", match=sorted(found)[0], evidence={"domains": sorted(found)})] if found else []

    # pyproject.toml of your package
    [project.entry-points."trustdesk.analysers"]
    scam_links = "my_package.analysers:ScamLinks"

One signal per (analyser, label) per content and version: an analyser that finds several
matches for one label returns the best as `match` and the others in `evidence`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from typing import Any, ClassVar

from trustdesk.analysis.text.deep_tier import DeepTier
from trustdesk.analysis.text.fast_tier import FastTier

ENTRY_POINT_GROUP = "trustdesk.analysers"
MAX_EVIDENCE_KEYS = 20


@dataclass(frozen=True)
class MediaView:
    """One media item as an analyser sees it: what its bytes are and their hashes."""

    id: int
    kind: str | None
    content_type: str | None
    blob_sha256: str | None
    hashes: Mapping[str, str] = field(default_factory=dict)  # algorithm (md5, sha256, pdq …) → value


@dataclass(frozen=True)
class SubjectView:
    """A read-only copy of a subject for analysers: they never touch the database."""

    id: int
    app_id: int
    kind: str
    title: str | None
    text: str | None
    language: str | None
    body_hash: str
    media: tuple[MediaView, ...] = ()
    reported: bool = False  # someone has reported it: worth the slower analysers

    @property
    def content_text(self) -> str:
        """Title and text, as one message to score."""
        return "\n".join(part for part in (self.title, self.text) if part)

    @cached_property
    def content_hash(self) -> str:
        """What identifies the content analysed: its body and the bytes of its media (stored
        with each of the subject's signals, so worked out once)."""
        media = ",".join(sorted(m.blob_sha256 for m in self.media if m.blob_sha256))
        return hashlib.sha256(f"{self.body_hash}|{media}".encode()).hexdigest()


@dataclass(frozen=True)
class SignalFound:
    """What an analyser found: a label with a score in [0, 1], or a match (a reference to what
    matched, such as a bank entry), with small evidence that explains it."""

    label: str
    score: float | None = None
    match: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.label or len(self.label) > 64:
            raise ValueError("a signal's label has 1–64 characters")
        if self.score is None and self.match is None:
            raise ValueError(f"signal {self.label!r} needs a score or a match")
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"signal {self.label!r}: score {self.score} is outside [0, 1]")
        if len(self.evidence) > MAX_EVIDENCE_KEYS:
            raise ValueError(f"signal {self.label!r}: evidence is for a few keys, not {len(self.evidence)}")


class Analyser(ABC):
    """The interface every analyser implements; see the module docstring."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def version(self) -> str:
        """The model, bank or rule-set version that `analyse` uses."""

    @abstractmethod
    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        """The signals found in `subject` (none is an empty list)."""

    def analyse_many(self, subjects: Sequence[SubjectView]) -> list[list[SignalFound]]:
        """The signals of each subject, in order; override when a batch is cheaper than one by one."""
        return [self.analyse(subject) for subject in subjects]


class RegistryError(RuntimeError):
    pass


class AnalyserRegistry:
    """Analysers by name: the built-in ones and those of the `trustdesk.analysers` entry points."""

    def __init__(self, group: str | None = ENTRY_POINT_GROUP) -> None:
        self.group = group
        self._by_name: dict[str, Analyser] = {}
        self._loaded = group is None

    def register(self, analyser: Analyser) -> Analyser:
        name = getattr(analyser, "name", "")
        if not isinstance(analyser, Analyser) or not name:
            raise RegistryError(f"{analyser!r} is not a named Analyser")
        if name in self._by_name:
            raise RegistryError(f"an analyser named {name!r} is registered already")
        self._by_name[name] = analyser
        return analyser

    def load_entry_points(self) -> None:
        """Register each entry point of the group once: a class (made with no arguments), or a
        function returning an analyser."""
        if self._loaded:
            return
        self._loaded = True
        for point in entry_points(group=self.group or ""):
            made = point.load()
            self.register(made())

    def extended(self, *analysers: Analyser) -> AnalyserRegistry:
        """These analysers with this registry's: for analysers made with what only a running
        process has (a database, a blob store)."""
        registry = AnalyserRegistry(group=None)
        for analyser in (*self.all(), *analysers):
            registry.register(analyser)
        return registry

    def all(self) -> list[Analyser]:
        self.load_entry_points()
        return [self._by_name[name] for name in sorted(self._by_name)]

    def named(self, name: str) -> Analyser | None:
        self.load_entry_points()
        return self._by_name.get(name)


class TextClassifier(Analyser):
    """The text classifier's fast tier over a subject's title and text: one score per label
    (offensive, hate, spam_scam), 0.5 being the decision threshold."""

    name = "text_classifier"

    def __init__(self) -> None:
        self._tier: FastTier | None = None

    @property
    def tier(self) -> FastTier:
        """The shipped fast-tier model, loaded on first use (a process that never scores text never loads it)."""
        if self._tier is None:
            self._tier = FastTier.load()
        return self._tier

    @property
    def version(self) -> str:
        return f"fast-{self.tier.version}"

    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        return self.analyse_many([subject])[0]

    def analyse_many(self, subjects: Sequence[SubjectView]) -> list[list[SignalFound]]:
        texts = [subject.content_text for subject in subjects]
        scored = [text for text in texts if text.strip()]
        rows = iter(self.tier.score(scored).tolist())  # Python floats at once, not one by one
        labels = self.tier.labels
        found: list[list[SignalFound]] = []
        for text in texts:
            if not text.strip():
                found.append([])
                continue
            found.append([SignalFound(label, score=round(value, 4), evidence={"tier": "fast"}) for label, value in zip(labels, next(rows))])
        return found


class DeepTextClassifier(Analyser):
    """The text classifier's deep tier (the `embeddings` extra), for what deserves the wait:
    reported content, and messages whose fast-tier score sits in the uncertain band around the
    0.5 threshold. Everything else gets no deep signal; its fast one stands."""

    name = "text_classifier_deep"
    UNCERTAIN = (0.25, 0.75)

    def __init__(self, load: Callable[[], DeepTier]) -> None:
        self._load = load
        self._tier: DeepTier | None = None

    @property
    def tier(self) -> DeepTier:
        """The embedding model and head, loaded on first use (the model takes seconds to load)."""
        if self._tier is None:
            self._tier = self._load()
        return self._tier

    @property
    def version(self) -> str:
        return f"deep-{self.tier.fast.version}"

    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        return self.analyse_many([subject])[0]

    def analyse_many(self, subjects: Sequence[SubjectView]) -> list[list[SignalFound]]:
        texts = [subject.content_text for subject in subjects]
        fast = self.tier.fast.score(texts)
        low, high = self.UNCERTAIN
        chosen = [i for i, (subject, text) in enumerate(zip(subjects, texts))
                  if text.strip() and (subject.reported or any(low <= score <= high for score in fast[i]))]
        found: list[list[SignalFound]] = [[] for _ in subjects]
        for i, scores in zip(chosen, self.tier.score([texts[i] for i in chosen])):
            found[i] = [SignalFound(label, score=round(float(value), 4), evidence={"tier": "deep"})
                        for label, value in zip(self.tier.labels, scores)]
        return found


ANALYSERS = AnalyserRegistry()
ANALYSERS.register(TextClassifier())
