"""The one expression language of TrustDesk: CEL, checked against a declared schema.

Rules, routing and automations all store their conditions as CEL source written by an admin,
so every mistake must be caught when the expression is saved, with a message that names it:
syntax, undeclared variables, misspelled fields, and type errors found by a dry run on sample
values. At run time, evaluation problems surface as `ExpressionError` as well, never as the
engine's own exceptions.

The engine (`cel`) exposes no syntax tree, so field accesses and comprehension variables are
found by scanning the source with string literals and comments blanked out.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cel

MAX_SOURCE_CHARS = 4000

# The types a schema may declare, each with two sample values for the dry run: an empty one and
# a set one, so that a condition guarded by `&&` or `||` on a declared field is reached once.
_SAMPLES: dict[type, tuple[Any, Any]] = {
    str: ("", "sample"),
    int: (0, 1),
    float: (0.0, 1.0),
    bool: (False, True),
    list: ([], []),
    dict: ({}, {}),
}

_LITERALS_AND_COMMENTS = re.compile(
    r"""
      (?:[rR][bB]?|[bB][rR])(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"[^"\n]*"|'[^'\n]*')
    | [bB]?(?:\"\"\"(?:\\[\s\S]|[\s\S])*?\"\"\"|'''(?:\\[\s\S]|[\s\S])*?'''
              |"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
    | //[^\n]*
    """,
    re.VERBOSE,
)
_MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
# `name.field`, not itself part of a longer selection, and not a method call such as `.size()`.
_FIELD_ACCESS = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)\b(?!\s*\()")
_SYNTAX_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (?:Syntax error: )?")
_UNDEFINED_NAME = re.compile(r"^Undefined variable or function: '([^']*)'")


class ExpressionError(ValueError):
    """An expression was refused or failed; the message is meant for the admin who wrote it."""


@dataclass(frozen=True)
class Schema:
    """The top-level variables an expression may use, declared by the feature that evaluates it.

    Each variable is either a record — a mapping of field name to type, so that `report.polcy`
    is refused at save time — or a bare type whose contents are not checked (`"signals": list`).
    Types are `str`, `int`, `float`, `bool`, `list` and `dict`.
    """

    variables: Mapping[str, type | Mapping[str, type]]

    def __post_init__(self) -> None:
        for name, declared in self.variables.items():
            types = declared.values() if isinstance(declared, Mapping) else [declared]
            unsupported = [t for t in types if t not in _SAMPLES]
            if unsupported:
                raise TypeError(f"schema variable {name!r} declares unsupported types {unsupported}")

    def fields(self, variable: str) -> Mapping[str, type] | None:
        """The declared fields of a record variable; None when its contents are unchecked."""
        declared = self.variables[variable]
        return declared if isinstance(declared, Mapping) else None

    def sample_contexts(self) -> list[dict[str, Any]]:
        return [
            {name: _sample(declared, index) for name, declared in self.variables.items()} for index in (0, 1)
        ]


def _sample(declared: type | Mapping[str, type], index: int) -> Any:
    if isinstance(declared, Mapping):
        return {name: _SAMPLES[kind][index] for name, kind in declared.items()}
    return _SAMPLES[declared][index]


class Prepared:
    """An event's values converted for the engine once, for every expression evaluated on it:
    converting is most of what evaluating costs. A value the engine cannot take is left out,
    so an expression that reads it fails (as an `ExpressionError`) and the others still run."""

    __slots__ = ("names", "context")

    def __init__(self, values: Mapping[str, Any], used: Iterable[str] | None = None) -> None:
        """`used`: the variables the expressions read (default: all), the only ones converted."""
        self.context = cel.Context()
        names = []
        wanted = values.keys() if used is None else [name for name in sorted(set(used)) if name in values]
        for name in wanted:
            value = values[name]
            try:
                self.context.add_variable(name, value)
            except Exception:  # noqa: BLE001 - reported by the expressions that read it
                continue
            names.append(name)
        self.names = frozenset(names)


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate; made only by `compile_expression`."""

    source: str
    variables: tuple[str, ...]
    _program: cel.Program = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any] | Prepared) -> Any:
        """The value on `context`: prepared once for many expressions, or plain values (of
        which only the variables the expression uses are converted)."""
        values = context.context if isinstance(context, Prepared) else {name: context[name] for name in self.variables if name in context}
        try:
            return self._program.execute(values)
        except Exception as exc:  # the engine raises KeyError, TypeError, RuntimeError...; callers see one type
            raise ExpressionError(f"could not evaluate: {_describe(exc)}") from exc

    def matches(self, context: Mapping[str, Any] | Prepared) -> bool:
        """Evaluate a condition; anything but true or false is an error, not a guess."""
        result = self.evaluate(context)
        if not isinstance(result, bool):
            raise ExpressionError(
                f"a condition must give true or false, but this gave {type(result).__name__} {reprlib.repr(result)}"
            )
        return result


def compile_expression(source: str, schema: Schema) -> Expression:
    """Check `source` against `schema` as an admin's save must, refusing with the reason."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"the expression is {len(source)} characters long; the limit is {MAX_SOURCE_CHARS}")
    try:
        program = cel.compile(source)
    except ValueError as exc:
        raise ExpressionError(_syntax_message(str(exc))) from exc
    code = _LITERALS_AND_COMMENTS.sub('""', source)
    bound = set(_MACRO_VARIABLE.findall(code))
    hidden = sorted(bound & set(schema.variables))
    if hidden:
        raise ExpressionError(f"the loop variable {hidden[0]!r} hides the variable of that name; rename it")
    variables = tuple(sorted(set(program.variables()) - bound))
    for name in variables:
        if name not in schema.variables:
            raise ExpressionError(f"unknown variable {name!r}{_hint(name, schema.variables)}")
    for name, field_name in _FIELD_ACCESS.findall(code):
        fields = schema.fields(name) if name in variables else None
        if fields is not None and field_name not in fields:
            raise ExpressionError(f"{name} has no field {field_name!r}{_hint(field_name, fields)}")
    _dry_run(program, schema)
    return Expression(source, variables, program)


def _dry_run(program: cel.Program, schema: Schema) -> None:
    """Evaluate on sample values; refuse only errors that no real data could avoid."""
    for context in schema.sample_contexts():
        try:
            program.execute(context)
        except TypeError as exc:
            raise ExpressionError(f"type error: {exc}") from exc
        except Exception as exc:  # other errors (an empty list, a zero divisor) come from the sample values
            undefined = _UNDEFINED_NAME.match(str(exc))
            if undefined:
                raise ExpressionError(
                    f"unknown name {undefined.group(1)!r}: neither a declared variable nor a function "
                    "that takes these arguments"
                ) from exc


def _syntax_message(engine_message: str) -> str:
    # Keep the positions and carets; drop the preamble that repeats the whole source.
    start = engine_message.find("ERROR: ")
    if start < 0:
        return f"syntax error: {engine_message}"
    return "syntax error at " + _SYNTAX_POSITION.sub(r"line \1, column \2: ", engine_message[start:])


def _hint(name: str, known: Iterable[str]) -> str:
    """Point at the likely intended name, or list them all when nothing is close."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "; known: " + ", ".join(names)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no value for {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
