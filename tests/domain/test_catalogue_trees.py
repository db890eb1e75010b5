"""Every catalogue policy comes with its own decision tree, description and guidance, all valid."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from trustdesk.domain.catalogue_trees import CATALOGUE_TREES
from trustdesk.domain.decision_trees import NO_VIOLATION, VIOLATION, default_tree, validate_tree, walk
from trustdesk.domain.errors import FieldError
from trustdesk.domain.policies import CATALOGUE, Action, PolicySpec, catalogue_by_code

POLICIES = [pytest.param(p, id=p.code) for p in CATALOGUE]


def _outcomes(tree: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["outcome"] for node in tree["nodes"].values() for a in node["answers"] if "outcome" in a]


def _walk_to(tree: dict[str, Any], policy: PolicySpec, labels: list[str]) -> Any:
    """Follow answers by the start of their labels, as a reviewer reads them."""
    node, answers = tree["start"], []
    for label in labels:
        options = tree["nodes"][node]["answers"]
        index = next(i for i, a in enumerate(options) if a["label"].startswith(label))
        answers.append(index)
        node = options[index].get("next", node)
    return walk(tree, policy, answers)[1]


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_has_a_valid_tree_of_its_own(policy: PolicySpec) -> None:
    tree = CATALOGUE_TREES[policy.code]
    validate_tree(tree, policy)
    assert tree != default_tree(policy)
    verdicts = {o["verdict"] for o in _outcomes(tree)}
    assert verdicts == {VIOLATION, NO_VIOLATION}, "a reviewer must be able to reach either verdict"
    assert len(policy.description) > 40 and len(policy.guidance.splitlines()) >= 2


def test_trees_ask_different_questions() -> None:
    firsts = [tree["nodes"][tree["start"]]["question"] for tree in CATALOGUE_TREES.values()]
    assert len(set(firsts)) == len(CATALOGUE) and set(CATALOGUE_TREES) == {p.code for p in CATALOGUE}


@pytest.mark.parametrize(
    ("code", "labels", "verdict", "actions", "note"),
    [
        ("SCAM", ["Yes", "Yes"], VIOLATION, {Action.REMOVE, Action.BAN}, "fraudulent account"),
        ("SCAM", ["No, but it pushes", "Only to chatting"], VIOLATION, {Action.RESTRICT_VISIBILITY, Action.WARN}, "warning sign"),
        ("SCAM", ["Yes", "No, or cannot tell", "Yes"], VIOLATION, {Action.REMOVE, Action.BAN, Action.DEMONETISE}, "who paid"),
        ("HARASSMENT", ["Yes", "Yes"], VIOLATION, {Action.REMOVE, Action.SUSPEND}, "imminent harm"),
        ("HARASSMENT", ["No"], NO_VIOLATION, set(), ""),
        ("HARASSMENT", ["Yes", "No", "No", "Yes"], VIOLATION, {Action.REMOVE, Action.STRIKE}, "Hate speech"),
        ("COUNTERFEIT", ["Yes", "No", "Yes", "Yes"], VIOLATION, {Action.REMOVE, Action.DEMONETISE, Action.STRIKE}, "whole shop"),
        ("COUNTERFEIT", ["Yes", "No", "No"], NO_VIOLATION, set(), "resale is allowed"),
        ("UNDERAGE_USER", ["Yes", "Yes"], VIOLATION, {Action.BAN}, "Child-safety route"),
        ("UNDERAGE_USER", ["No", "One weak sign"], NO_VIOLATION, set(), "comment"),
        ("VIOLENT_THREATS", ["Yes", "Yes"], VIOLATION, {Action.REMOVE, Action.BAN}, "Art. 18"),
        ("SELF_HARM", ["Yes"], VIOLATION, {Action.RESTRICT_VISIBILITY}, "imminent harm"),
        ("SEXUAL_CONTENT", ["Yes"], VIOLATION, {Action.REMOVE}, "CSAM"),
        ("CSAM", ["Yes", "Someone sharing"], VIOLATION, {Action.REMOVE, Action.BAN}, "NCMEC"),
    ],
)
def test_what_a_reviewer_is_led_to(code: str, labels: list[str], verdict: str, actions: set[Action], note: str) -> None:
    outcome = _walk_to(CATALOGUE_TREES[code], catalogue_by_code()[code], labels)
    assert outcome is not None and (outcome.verdict, set(outcome.actions)) == (verdict, actions)
    assert note.lower() in outcome.note.lower()


@pytest.mark.parametrize("policy", POLICIES)
def test_catalogue_keywords_belong_to_the_category(policy: PolicySpec) -> None:
    policy.validate()  # among other things: every keyword is one of its category's


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dsa_keywords": ("KEYWORD_HATE_SPEECH",)}, "dsa_keywords"),
        ({"dsa_keywords": ("KEYWORD_NOPE",)}, "dsa_keywords"),
        ({"title": " "}, "title"),
        ({"guidance": "x" * 10_001}, "guidance"),
        ({"ncmec_incident_type": "Something"}, "ncmec_incident_type"),
    ],
)
def test_policy_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        replace(catalogue_by_code()["SPAM"], **change).validate()
    assert caught.value.field == field and caught.value.status == 422


def test_untied_keywords_fit_any_category() -> None:
    replace(catalogue_by_code()["SPAM"], dsa_keywords=("KEYWORD_OTHER", "KEYWORD_STALKING")).validate()
