"""Every notice template renders in every locale with every variable given (a missing one is an
error, never a gap), in each of its branches; locales fall back by language, then to English."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import UndefinedError

from trustdesk.domain.vocabulary import NoticeKind
from trustdesk.notices.templates import locales, pick_locale, render

RESTRICTIONS = [{"kind": kind, "ends_at": "2026-12-13 10:00 UTC" if kind == "suspend" else None} for kind in (
    "remove", "disable", "restrict_visibility", "age_restrict", "label", "warn", "strike", "suspend", "ban", "demonetise",
    "cascade_takedown",
)]
UNDONE = [r["kind"] for r in RESTRICTIONS]
CONTEXTS: dict[str, list[dict[str, Any]]] = {
    NoticeKind.DECISION: [
        {"policy_title": "Scams", "restrictions": RESTRICTIONS, "rationale": rationale, "automated_detection": detected,
         "automated_decision": decided, "appeal_days": 183, "appeal_reference": "41", "statement_of_reasons_id": sor}
        for rationale, detected, decided, sor in (("Fake bags.", False, False, None), ("", True, False, 9), ("x", True, True, None))
    ],
    NoticeKind.REPORT_OUTCOME: [
        {"action_taken": taken, "report_reference": "r-1", "appeal_days": 183, "appeal_reference": "r-1"} for taken in (True, False)
    ],
    NoticeKind.APPEAL_OUTCOME: [
        {"upheld": upheld, "appellant": appellant, "restored": UNDONE, "rationale": "Receipts.", "policy_title": "Scams",
         "appeal_reference": "ap-1"}
        for upheld, appellant in ((True, "user"), (False, "user"), (False, "notifier"))
    ],
    NoticeKind.ESCALATION_OUTCOME: [
        {"escalation_reference": "cx-1", "requester_ref": "ticket-77", "violation": violation} for violation in (True, False)
    ],
}


def test_english_spanish_and_portuguese_are_there() -> None:
    assert {"en", "es", "pt"} <= locales()


@pytest.mark.parametrize("locale", sorted(locales()))
@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_every_template_renders_in_every_locale(kind: str, locale: str) -> None:
    bodies = set()
    for context in CONTEXTS[kind]:
        rendered = render(kind, locale, context)
        assert rendered.subject_line and "\n" not in rendered.subject_line
        assert rendered.body.strip() and "{{" not in rendered.body and "{%" not in rendered.body
        assert "\n\n\n" not in rendered.body  # no blank gaps where a branch left nothing
        bodies.add(rendered.body)
    assert len(bodies) == len(CONTEXTS[kind])  # each branch says something of its own
    if kind == NoticeKind.DECISION:
        assert "2026-12-13 10:00 UTC" in rendered.body
        assert "(" not in rendered.body  # every action has its own phrase, not the fallback naming the kind


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_a_missing_variable_is_an_error(kind: str) -> None:
    context = dict(CONTEXTS[kind][0])
    context.pop(sorted(context)[0])
    with pytest.raises(UndefinedError):
        render(kind, "en", context)


@pytest.mark.parametrize(("wanted", "picked"), [
    ("pt-BR", "pt"), ("pt_PT", "pt"), ("ES", "es"), ("es-419", "es"), ("en-GB", "en"), ("fr-CA", "en"), ("", "en"), (None, "en"),
    ("../en", "en"),
])
def test_locales_fall_back_by_language_then_to_english(wanted: str | None, picked: str) -> None:
    assert pick_locale(wanted) == picked
