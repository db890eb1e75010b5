"""CEL engines compared on routing and rule expressions: evaluation rate, results, refusals.

    python bench/cel_engines.py                  # 5 runs of every expression over 200 contexts
    python bench/cel_engines.py --runs 9 --contexts 1000

The engine TrustDesk uses is `cel-expr-python` (the Python runtime of CEL's reference
implementation), through `trustdesk.rules.expressions`: an evaluation there includes turning the
context's records into protobuf messages, as intake pays it. The peer is
`common-expression-language` (module `cel`, the engine TrustDesk used before), evaluated the way
TrustDesk called it (`program.execute(dict(context))`, then a bool check), when that package is
installed (it is no longer a TrustDesk dependency).

The rate is evaluations per second of `matches`, the median of several runs over the same
contexts (the machine may be shared: medians, not best runs). Results are compared on every
context: an expression is listed when the engines give different values, or one fails where the
other does not. Then each engine's compile step is given a set of mistakes an admin makes; a
mistake it lets through is found only when (and if) real data reaches it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from trustdesk.cases.queues import ROUTING_SCHEMA
from trustdesk.rules.expressions import ExpressionError, Schema, compile_expression

try:
    import cel as peer
except ImportError:  # the peer is optional
    peer = None

SCHEMA = Schema({**ROUTING_SCHEMA.variables, "history": {"reports_7d": int, "reports_30d": int, "actions": int}})

EXPRESSIONS = [
    "policy.code == 'CSAM'",
    "subject.language in ['es', 'pt', 'ca']",
    "report.policy == 'SCAM' && subject.app == 'dating'",
    "subject.country in ['DE', 'AT'] && report.source == 'trusted_flagger'",
    "policy.severity >= 3 && !policy.graphic",
    "report.imminent_harm || (policy.severity > 3 && history.actions > 0)",
    "signals.exists(s, s.label == 'scam' && s.score > 0.8)",
    "signals.exists(s, s.analyser == 'pdq' && s.match != '')",
    "size(signals.filter(s, s.score > 0.5)) >= 2",
    "history.reports_30d + history.reports_7d * 2 > 10",
    "history.actions * 100 / (history.reports_30d + 1) > 20",
    "report.text.contains('crypto') || report.text.startsWith('WIN')",
    "report.text.matches('(?i)bitcoin|usdt')",
    "report.text.size() > 200 && subject.kind == 'message'",
]

# (what the mistake is, the source): each should be refused when it is saved.
MISTAKES = [
    ("unknown variable", "reporter.policy == 'SCAM'"),
    ("unknown field", "report.polcy == 'SCAM'"),
    ("unknown field of a list element", "signals.exists(s, s.lable == 'scam')"),
    ("int compared with string", "policy.severity > 'high'"),
    ("string compared with bool", "report.imminent_harm == 'yes'"),
    ("int mixed with double", "policy.severity > 2.5"),
    ("non-bool condition", "policy.severity + 1"),
    ("wrong function arity", "report.text.contains()"),
    ("unknown function", "shout(report.text)"),
    ("syntax error", "policy.code =="),
]

POLICIES = [("SCAM", 2, False), ("CSAM", 4, True), ("HATE", 3, False), ("SPAM", 1, False), ("VIOLENCE", 4, True)]
LABELS = ["scam", "spam", "nudity", "ok"]
TEXTS = ["", "buy now", "WIN a prize", "send usdt to this wallet", "Bitcoin doubler", "crypto " * 40, "hello"]


def _contexts(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    contexts = []
    for _ in range(n):
        code, severity, graphic = rng.choice(POLICIES)
        signals = [
            {"analyser": rng.choice(["text", "pdq"]), "label": rng.choice(LABELS), "score": round(rng.random(), 2),
             "match": rng.choice(["", "", "bank:7"])}
            for _ in range(rng.randint(0, 4))
        ]
        contexts.append({
            "report": {"policy": code, "source": rng.choice(["user", "trusted_flagger", "app"]),
                       "text": rng.choice(TEXTS), "imminent_harm": rng.random() < 0.1},
            "subject": {"kind": rng.choice(["message", "profile", "media"]), "language": rng.choice(["en", "es", "de", "pt"]),
                        "country": rng.choice(["DE", "AT", "US", "BR"]), "app": rng.choice(["dating", "market"])},
            "policy": {"code": code, "severity": severity, "graphic": graphic},
            "signals": signals,
            "history": {"reports_7d": rng.randint(0, 6), "reports_30d": rng.randint(0, 20), "actions": rng.randint(0, 3)},
        })
    return contexts


def _peer_matches(program: Any) -> Callable[[dict[str, Any]], bool]:
    def matches(context: dict[str, Any]) -> bool:
        result = program.execute(dict(context))
        if not isinstance(result, bool):
            raise ValueError(f"not a bool: {result!r}")
        return result
    return matches


def _rate(matches: Callable[[dict[str, Any]], bool], contexts: list[dict[str, Any]], runs: int) -> float:
    """Median evaluations per second over `runs` passes; a failing evaluation counts as one."""
    rates = []
    for context in contexts[:20]:  # warm up
        try:
            matches(context)
        except Exception:  # noqa: BLE001
            pass
    for _ in range(runs):
        start = time.perf_counter()
        for context in contexts:
            try:
                matches(context)
            except Exception:  # noqa: BLE001 - a failure is timed like a result
                pass
        rates.append(len(contexts) / (time.perf_counter() - start))
    return statistics.median(rates)


def _outcome(matches: Callable[[dict[str, Any]], bool], context: dict[str, Any]) -> str:
    try:
        return repr(matches(context))
    except Exception as exc:  # noqa: BLE001 - a failure is an outcome to compare
        return f"error ({type(exc).__name__})"


def _peer_refuses(source: str) -> str:
    try:
        peer.compile(source)
    except Exception as exc:  # noqa: BLE001
        return f"refused: {str(exc).splitlines()[0][:60]}"
    return "accepted"


def _ours_refuses(source: str) -> str:
    try:
        compile_expression(source, SCHEMA, condition=True)
    except ExpressionError as exc:
        return f"refused: {str(exc).splitlines()[0][:60]}"
    return "accepted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contexts", type=int, default=200)
    args = parser.parse_args()
    contexts = _contexts(args.contexts)

    print(f"{'expression':<72} {'cel-expr-python':>16} {'peer':>10} {'ratio':>6}")
    totals = [0.0, 0.0]
    differ: list[tuple[str, int, str, str]] = []
    for source in EXPRESSIONS:
        ours = compile_expression(source, SCHEMA, condition=True).matches
        our_rate = _rate(ours, contexts, args.runs)
        totals[0] += 1 / our_rate
        if peer is None:
            print(f"{source[:72]:<72} {our_rate:>16,.0f}")
            continue
        theirs = _peer_matches(peer.compile(source))
        their_rate = _rate(theirs, contexts, args.runs)
        totals[1] += 1 / their_rate
        print(f"{source[:72]:<72} {our_rate:>16,.0f} {their_rate:>10,.0f} {our_rate / their_rate:>6.2f}")
        outcomes = [(_outcome(ours, c), _outcome(theirs, c)) for c in contexts]
        mismatched = [(a, b) for a, b in outcomes if a != b]
        if mismatched:
            differ.append((source, len(mismatched), *mismatched[0]))
    n = len(EXPRESSIONS)
    names = tuple(SCHEMA.variables)
    convert = _rate(lambda context: bool(SCHEMA.convert(context, names)), contexts, args.runs)
    print(f"\nturning all {len(names)} variables of a context into messages: {1e6 / convert:.1f} µs ({convert:,.0f}/s)")
    print(f"all expressions, evaluations/s: cel-expr-python {n / totals[0]:,.0f}", end="")
    if peer is None:
        print("  (common-expression-language is not installed: no peer figures)")
        return
    print(f", common-expression-language {n / totals[1]:,.0f}, ratio {totals[1] / totals[0]:.2f}")

    print(f"\nresults that differ over {len(contexts)} contexts:", "none" if not differ else "")
    for source, count, ours_gave, theirs_gave in differ:
        print(f"  {source}: {count} contexts, e.g. cel-expr-python {ours_gave}, peer {theirs_gave}")

    print(f"\n{'mistake':<34} {'cel-expr-python (compile_expression)':<72} common-expression-language (cel.compile)")
    for name, source in MISTAKES:
        print(f"{name:<34} {_ours_refuses(source):<72} {_peer_refuses(source)}")


if __name__ == "__main__":
    main()
