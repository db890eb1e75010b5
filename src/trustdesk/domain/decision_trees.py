"""Decision trees that guide a reviewer from a policy to a verdict and its actions.

A tree is data stored with each policy version:

    {"start": "q1",
     "nodes": {"q1": {"question": "Does the message ask for money or crypto?",
                      "answers": [{"label": "Yes", "next": "q2"},
                                  {"label": "No", "outcome": {"verdict": "no_violation"}}]},
               "q2": {"question": "...", "answers": [{"label": "...",
                      "outcome": {"verdict": "violation", "actions": ["remove", "strike"]}}]}}}

A question may carry `help` (what to look for) and an outcome a `note` (what to do next, such as
flagging imminent harm); both are shown to the reviewer.

`validate_tree` refuses a tree that could strand a reviewer (dangling links, cycles, answers
without a way on, more answers than the 1–9 keys), that recommends an action the policy does not
allow, or that is out of bounds, when it is saved. Errors name the node and answer at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trustdesk.domain.errors import FieldError
from trustdesk.domain.policies import Action, PolicySpec

VIOLATION = "violation"
NO_VIOLATION = "no_violation"
VERDICTS = (VIOLATION, NO_VIOLATION)
MAX_NODES = 100
MAX_ANSWERS = 9  # one key each, 1–9, on the case page
MAX_NAME, MAX_LABEL, MAX_QUESTION, MAX_NOTE = 64, 200, 500, 2000


class TreeError(FieldError):
    """The tree is malformed; `field` is the path of the node and answer at fault."""


@dataclass(frozen=True)
class Outcome:
    verdict: str
    actions: tuple[Action, ...] = ()
    note: str = ""


def validate_tree(tree: Any, policy: PolicySpec) -> None:
    if not isinstance(tree, dict):
        raise TreeError("decision_tree", "must be an object with 'start' and 'nodes'")
    nodes = tree.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise TreeError("decision_tree.nodes", "at least one question is needed")
    if len(nodes) > MAX_NODES:
        raise TreeError("decision_tree.nodes", f"at most {MAX_NODES} questions")
    start = tree.get("start")
    if not isinstance(start, str) or start not in nodes:
        raise TreeError("decision_tree.start", f"no node {start!r}")
    for name, node in nodes.items():
        where = f"decision_tree.nodes.{name}"
        if len(name) > MAX_NAME:
            raise TreeError(where, f"node names have at most {MAX_NAME} characters")
        if not isinstance(node, dict) or not _text(node.get("question"), MAX_QUESTION):
            raise TreeError(f"{where}.question", f"1 to {MAX_QUESTION} characters")
        if "help" in node and not _text(node["help"], MAX_NOTE, empty=True):
            raise TreeError(f"{where}.help", f"text of at most {MAX_NOTE} characters")
        answers = node.get("answers")
        if not isinstance(answers, list) or not 2 <= len(answers) <= MAX_ANSWERS:
            raise TreeError(f"{where}.answers", f"2 to {MAX_ANSWERS} answers are needed")
        for i, answer in enumerate(answers):
            _check_answer(answer, f"{where}.answers[{i}]", nodes, policy)
    _check_acyclic(nodes, start)


def _text(value: Any, limit: int, *, empty: bool = False) -> bool:
    return isinstance(value, str) and (empty or bool(value.strip())) and len(value) <= limit


def _check_answer(answer: Any, where: str, nodes: dict[str, Any], policy: PolicySpec) -> None:
    if not isinstance(answer, dict) or not _text(answer.get("label"), MAX_LABEL):
        raise TreeError(f"{where}.label", f"1 to {MAX_LABEL} characters")
    has_next, has_outcome = "next" in answer, "outcome" in answer
    if has_next == has_outcome:
        raise TreeError(where, "needs exactly one of 'next' or 'outcome'")
    if has_next and (not isinstance(answer["next"], str) or answer["next"] not in nodes):
        raise TreeError(f"{where}.next", f"no node {answer['next']!r}")
    if has_outcome:
        outcome_of(answer["outcome"], policy, where + ".outcome")


def outcome_of(raw: Any, policy: PolicySpec, where: str = "outcome") -> Outcome:
    if not isinstance(raw, dict) or raw.get("verdict") not in VERDICTS:
        raise TreeError(f"{where}.verdict", f"must be one of {', '.join(VERDICTS)}")
    listed = raw.get("actions", [])
    if not isinstance(listed, list):
        raise TreeError(f"{where}.actions", "must be a list of actions")
    try:
        actions = tuple(Action(a) for a in listed)
    except ValueError as exc:
        raise TreeError(f"{where}.actions", str(exc)) from exc
    if raw["verdict"] == NO_VIOLATION and actions:
        raise TreeError(f"{where}.actions", "a no-violation outcome takes no actions")
    if raw["verdict"] == VIOLATION and not actions:
        raise TreeError(f"{where}.actions", "a violation outcome needs at least one action")
    not_allowed = [a.value for a in actions if a not in policy.allowed_actions]
    if not_allowed:
        raise TreeError(f"{where}.actions", f"{', '.join(not_allowed)} not allowed under {policy.code}")
    note = raw.get("note", "")
    if not _text(note, MAX_NOTE, empty=True):
        raise TreeError(f"{where}.note", f"text of at most {MAX_NOTE} characters")
    return Outcome(raw["verdict"], actions, note)


def _check_acyclic(nodes: dict[str, Any], start: str) -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            raise TreeError("decision_tree", f"loop through {' → '.join(path + (name,))}")
        visiting.add(name)
        for answer in nodes[name]["answers"]:
            if "next" in answer:
                visit(answer["next"], path + (name,))
        visiting.discard(name)
        done.add(name)

    visit(start, ())
    unreachable = sorted(set(nodes) - done)
    if unreachable:
        raise TreeError("decision_tree.nodes", f"unreachable from start: {', '.join(unreachable)}")


def walk(tree: dict[str, Any], policy: PolicySpec, answers: list[int]) -> tuple[list[dict[str, str]], Outcome | None]:
    """Follow answer indexes from the start; return the path taken and the outcome if reached."""
    node_name = tree["start"]
    path: list[dict[str, str]] = []
    for index in answers:
        node = tree["nodes"][node_name]
        if not 0 <= index < len(node["answers"]):
            raise TreeError("answers", f"{index} is not an answer to {node_name!r}")
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
