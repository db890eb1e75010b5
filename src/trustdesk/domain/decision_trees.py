"""Decision trees that guide a reviewer from a policy to a verdict and its actions.

A tree is data stored with each policy version:

    {"start": "q1",
     "nodes": {"q1": {"question": "Does the message ask for money or crypto?",
                      "answers": [{"label": "Yes", "next": "q2"},
                                  {"label": "No", "outcome": {"verdict": "no_violation"}}]},
               "q2": {"question": "...", "answers": [{"label": "...",
                      "outcome": {"verdict": "violation", "actions": ["remove", "strike"]}}]}}}

`validate_tree` refuses a tree that could strand a reviewer (dangling links, cycles, answers
without a way on) or that recommends an action the policy does not allow, when it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trustdesk.domain.policies import Action, PolicySpec

VIOLATION = "violation"
NO_VIOLATION = "no_violation"
VERDICTS = (VIOLATION, NO_VIOLATION)


class TreeError(ValueError):
    """The tree is malformed; the message names the node and answer."""


@dataclass(frozen=True)
class Outcome:
    verdict: str
    actions: tuple[Action, ...] = ()


def validate_tree(tree: dict[str, Any], policy: PolicySpec) -> None:
    nodes = tree.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise TreeError("decision_tree.nodes: at least one question is needed")
    start = tree.get("start")
    if start not in nodes:
        raise TreeError(f"decision_tree.start: no node {start!r}")
    for name, node in nodes.items():
        where = f"decision_tree.nodes.{name}"
        if not isinstance(node, dict) or not str(node.get("question", "")).strip():
            raise TreeError(f"{where}.question: must not be empty")
        answers = node.get("answers")
        if not isinstance(answers, list) or len(answers) < 2:
            raise TreeError(f"{where}.answers: at least two answers are needed")
        for i, answer in enumerate(answers):
            _check_answer(answer, f"{where}.answers[{i}]", nodes, policy)
    _check_acyclic(nodes, start)


def _check_answer(answer: Any, where: str, nodes: dict[str, Any], policy: PolicySpec) -> None:
    if not isinstance(answer, dict) or not str(answer.get("label", "")).strip():
        raise TreeError(f"{where}.label: must not be empty")
    has_next, has_outcome = "next" in answer, "outcome" in answer
    if has_next == has_outcome:
        raise TreeError(f"{where}: needs exactly one of 'next' or 'outcome'")
    if has_next and answer["next"] not in nodes:
        raise TreeError(f"{where}.next: no node {answer['next']!r}")
    if has_outcome:
        outcome_of(answer["outcome"], policy, where + ".outcome")


def outcome_of(raw: Any, policy: PolicySpec, where: str = "outcome") -> Outcome:
    if not isinstance(raw, dict) or raw.get("verdict") not in VERDICTS:
        raise TreeError(f"{where}.verdict: must be one of {', '.join(VERDICTS)}")
    try:
        actions = tuple(Action(a) for a in raw.get("actions", []))
    except ValueError as exc:
        raise TreeError(f"{where}.actions: {exc}") from exc
    if raw["verdict"] == NO_VIOLATION and actions:
        raise TreeError(f"{where}.actions: a no-violation outcome takes no actions")
    if raw["verdict"] == VIOLATION and not actions:
        raise TreeError(f"{where}.actions: a violation outcome needs at least one action")
    not_allowed = [a.value for a in actions if a not in policy.allowed_actions]
    if not_allowed:
        raise TreeError(f"{where}.actions: {', '.join(not_allowed)} not allowed under {policy.code}")
    return Outcome(raw["verdict"], actions)


def _check_acyclic(nodes: dict[str, Any], start: str) -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            raise TreeError(f"decision_tree: loop through {' → '.join(path + (name,))}")
        visiting.add(name)
        for answer in nodes[name]["answers"]:
            if "next" in answer:
                visit(answer["next"], path + (name,))
        visiting.discard(name)
        done.add(name)

    visit(start, ())
    unreachable = sorted(set(nodes) - done)
    if unreachable:
        raise TreeError(f"decision_tree.nodes: unreachable from start: {', '.join(unreachable)}")


def walk(tree: dict[str, Any], policy: PolicySpec, answers: list[int]) -> tuple[list[dict[str, str]], Outcome | None]:
    """Follow answer indexes from the start; return the path taken and the outcome if reached."""
    node_name = tree["start"]
    path: list[dict[str, str]] = []
    for index in answers:
        node = tree["nodes"][node_name]
        if not 0 <= index < len(node["answers"]):
            raise TreeError(f"answers: {index} is not an answer to {node_name!r}")
        answer = node["answers"][index]
        path.append({"node": node_name, "question": node["question"], "answer": answer["label"]})
        if "outcome" in answer:
            return path, outcome_of(answer["outcome"], policy)
        node_name = answer["next"]
    return path, None


def default_tree(policy: PolicySpec) -> dict[str, Any]:
    """A starting tree for a catalogue policy: does it apply, and how serious is it."""
    content_actions = [a.value for a in policy.allowed_actions if a in (Action.REMOVE, Action.RESTRICT_VISIBILITY, Action.AGE_RESTRICT, Action.LABEL)]
    first = content_actions[:1] or [policy.allowed_actions[0].value]
    severe = first + [a.value for a in policy.allowed_actions if a in (Action.STRIKE, Action.BAN)][:1]
    mild = [a.value for a in policy.allowed_actions if a in (Action.LABEL, Action.WARN, Action.RESTRICT_VISIBILITY)][:1] or first
    return {
        "start": "applies",
        "nodes": {
            "applies": {
                "question": f"Does the content break the policy “{policy.title}”?",
                "answers": [
                    {"label": "Yes", "next": "severity"},
                    {"label": "No", "outcome": {"verdict": NO_VIOLATION}},
                ],
            },
            "severity": {
                "question": "Is it clear-cut and harmful, rather than borderline?",
                "answers": [
                    {"label": "Clear-cut", "outcome": {"verdict": VIOLATION, "actions": severe}},
                    {"label": "Borderline", "outcome": {"verdict": VIOLATION, "actions": mild}},
                ],
            },
        },
    }
