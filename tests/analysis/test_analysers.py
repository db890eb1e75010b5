"""The analyser interface and its registry: analysers by unique name, from code or entry points;
the shipped text classifier scores a subject's title and text."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from trustdesk.analysis import analysers
from trustdesk.analysis.analysers import (
    ANALYSERS,
    Analyser,
    AnalyserRegistry,
    MediaView,
    RegistryError,
    SignalFound,
    SubjectView,
    TextClassifier,
)


class Keyword(Analyser):
    """Flags subjects whose text holds a word: the smallest analyser there is."""

    name = "keyword"
    version = "1"  # type: ignore[assignment]

    def analyse(self, subject: SubjectView) -> list[SignalFound]:
        return [SignalFound("spam_scam", match="crypto", evidence={"word": "crypto"})] if "crypto" in subject.content_text else []


def _view(subject_id: int = 1, title: str | None = None, text: str | None = "hello", media: tuple[MediaView, ...] = ()) -> SubjectView:
    return SubjectView(subject_id, 1, "message", title, text, "en", "b" * 64, media)


def test_an_analyser_registered_by_name_is_found_and_run() -> None:
    registry = AnalyserRegistry(group=None)
    registry.register(Keyword())
    found = registry.named("keyword")
    assert found is not None and [a.name for a in registry.all()] == ["keyword"]
    assert found.analyse(_view(text="double your crypto")) == [SignalFound("spam_scam", match="crypto", evidence={"word": "crypto"})]
    assert found.analyse_many([_view(text="hi"), _view(text="crypto")]) == [[], [SignalFound("spam_scam", match="crypto", evidence={"word": "crypto"})]]


def test_two_analysers_of_one_name_are_refused() -> None:
    registry = AnalyserRegistry(group=None)
    registry.register(Keyword())
    with pytest.raises(RegistryError, match="'keyword' is registered already"):
        registry.register(Keyword())
    with pytest.raises(RegistryError, match="not a named Analyser"):
        registry.register(object())  # type: ignore[arg-type]


def test_entry_points_of_the_group_are_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="keyword", value="tests.analysis.test_analysers:Keyword", group="trustdesk.analysers")
    asked: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        asked.append(group)
        return [point]

    monkeypatch.setattr(analysers, "entry_points", entry_points)
    registry = AnalyserRegistry()
    assert [a.name for a in registry.all()] == ["keyword"]
    assert registry.named("keyword") is not None and asked == ["trustdesk.analysers"]


def test_an_entry_point_named_like_a_built_in_analyser_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="again", value="trustdesk.analysis.analysers:TextClassifier", group="trustdesk.analysers")
    monkeypatch.setattr(analysers, "entry_points", lambda group: [point])
    registry = AnalyserRegistry()
    registry.register(TextClassifier())
    with pytest.raises(RegistryError, match="'text_classifier' is registered already"):
        registry.all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "needs a score or a match"),
    ({"score": 1.5}, "outside"),
    ({"score": -0.1}, "outside"),
    ({"score": 0.5, "evidence": {str(n): n for n in range(30)}}, "evidence is for a few keys"),
])
def test_a_signal_without_a_score_in_range_or_a_match_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SignalFound("spam_scam", **kwargs)  # type: ignore[arg-type]


def test_the_content_hash_changes_with_the_text_and_with_the_media_bytes() -> None:
    photo = MediaView(1, "image", "image/png", "a" * 64, {"md5": "m"})
    base = _view()
    assert base.content_hash == _view(subject_id=2).content_hash  # the content, not the subject
    assert base.content_hash != SubjectView(1, 1, "message", None, "hello", "en", "c" * 64).content_hash
    assert base.content_hash != _view(media=(photo,)).content_hash


def test_the_text_classifier_scores_title_and_text_and_skips_subjects_without_any() -> None:
    classifier = ANALYSERS.named("text_classifier")
    assert isinstance(classifier, TextClassifier)
    scam, benign, empty = classifier.analyse_many([
        _view(title="Invest now", text="send bitcoin to my wallet and I double your crypto investment, guaranteed profit"),
        _view(text="see you at the park on sunday with the kids"),
        _view(text=None),
    ])
    assert empty == []
    assert [s.label for s in scam] == list(classifier.tier.labels) == ["offensive", "hate", "spam_scam"]
    scores = {s.label: s.score for s in scam}
    assert scores["spam_scam"] is not None and scores["spam_scam"] > 0.5
    assert all(s.score is not None and s.score < 0.5 for s in benign)
    assert classifier.version.startswith("fast-") and len(classifier.version) == len("fast-") + 12


def test_the_deep_tier_looks_only_at_reported_content_and_the_uncertain_band() -> None:
    import numpy as np

    from trustdesk.analysis.analysers import DeepTextClassifier
    from trustdesk.analysis.text.deep_tier import DeepHead, DeepTier
    from trustdesk.analysis.text.fast_tier import FastTier

    fast = FastTier.load()
    embedded: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:  # stands in for the sentence model; the head is the shipped one
        embedded.extend(texts)
        return np.zeros((len(texts), 384), dtype=np.float32)

    candidates = ["see you at seven", "you are such an idiot", "free entry win cash now text WIN to 80086",
                  "hey babe add me on telegram", "that movie was sick", "ur so dumb lol", "call me later"]
    low, high = DeepTextClassifier.UNCERTAIN
    scores = dict(zip(candidates, fast.score(candidates).tolist()))
    uncertain = [t for t in candidates if any(low <= v <= high for v in scores[t])]
    confident = [t for t in candidates if t not in uncertain]
    assert uncertain and len(confident) >= 2, scores  # the test needs both kinds of text
    deep = DeepTextClassifier(lambda: DeepTier(fast, DeepHead.load(), embed))
    views = [SubjectView(1, 1, "message", None, confident[0], "en", "a" * 64, reported=True),
             SubjectView(2, 1, "message", None, confident[1], "en", "b" * 64),
             SubjectView(3, 1, "message", None, uncertain[0], "en", "c" * 64)]
    found = deep.analyse_many(views)
    assert [len(signals) for signals in found] == [3, 0, 3]
    assert {s.label for s in found[0]} == {"offensive", "hate", "spam_scam"} and found[2][0].evidence == {"tier": "deep"}
    assert len(embedded) == 2 and deep.version.startswith("deep-")
