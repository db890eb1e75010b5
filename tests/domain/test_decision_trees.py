"""Decision trees are refused at save time when they could strand a reviewer."""

from __future__ import annotations

import copy

import pytest

from trustdesk.domain.decision_trees import (
    NO_VIOLATION,
    VIOLATION,
    TreeError,
    default_tree,
    validate_tree,
    walk,
)
from trustdesk.domain.policies import CATALOGUE, Action, catalogue_by_code


@pytest.mark.parametrize("policy", CATALOGUE, ids=lambda p: p.code)
def test_every_catalogue_policy_gets_a_valid_default_tree(policy) -> None:  # type: ignore[no-untyped-def]
    validate_tree(default_tree(policy), policy)


def test_walking_reaches_an_outcome_with_allowed_actions() -> None:
    spam = catalogue_by_code()["SPAM"]
    tree = default_tree(spam)
    path, outcome = walk(tree, spam, [0])
    assert outcome is None and path[0]["answer"] == "Yes"
    path, outcome = walk(tree, spam, [0, 0])
    assert outcome is not None and outcome.verdict == VIOLATION and Action.REMOVE in outcome.actions
    assert walk(tree, spam, [1])[1].verdict == NO_VIOLATION
    with pytest.raises(TreeError, match="answers"):
        walk(tree, spam, [7])


def test_a_tree_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TreeError) as caught:
        validate_tree([1, 2], catalogue_by_code()["SPAM"])  # type: ignore[arg-type]
    assert caught.value.field == "decision_tree"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda t: t["nodes"]["applies"]["answers"][0].update(next="nowhere"), "no node 'nowhere'"),
        (lambda t: t["nodes"]["severity"]["answers"].__setitem__(0, {"label": "again", "next": "applies"}), "loop through"),
        (lambda t: t["nodes"]["severity"]["answers"][0]["outcome"].update(actions=["demonetise"]), "demonetise not allowed under SPAM"),
        (lambda t: t["nodes"]["applies"]["answers"].pop(), r"applies\.answers: 2 to 9 answers"),
        (lambda t: t["nodes"]["applies"]["answers"].extend([{"label": f"a{i}", "outcome": {"verdict": "no_violation"}} for i in range(8)]),
         r"applies\.answers: 2 to 9 answers"),
        (lambda t: t["nodes"]["severity"]["answers"][1]["outcome"].update(note=["not text"]), r"severity\.answers\[1\]\.outcome\.note"),
        (lambda t: t["nodes"]["severity"].update(help="x" * 2001), r"severity\.help"),
        (lambda t: t["nodes"]["severity"]["answers"][0].update(label="x" * 201), r"severity\.answers\[0\]\.label"),
        (lambda t: t["nodes"]["severity"]["answers"][0]["outcome"].update(actions="remove"), "must be a list"),
        (lambda t: t["nodes"].update(orphan={"question": "?", "answers": [{"label": "a", "outcome": {"verdict": "no_violation"}}, {"label": "b", "outcome": {"verdict": "no_violation"}}]}), "unreachable"),
        (lambda t: t["nodes"]["applies"]["answers"][1]["outcome"].update(actions=["remove"]), "takes no actions"),
        (lambda t: t.update(start="missing"), "decision_tree.start"),
    ],
)
def test_broken_trees_are_refused_naming_the_place(breakage, message: str) -> None:  # type: ignore[no-untyped-def]
    spam = catalogue_by_code()["SPAM"]
    tree = copy.deepcopy(default_tree(spam))
    breakage(tree)
    with pytest.raises(TreeError, match=message):
        validate_tree(tree, spam)
