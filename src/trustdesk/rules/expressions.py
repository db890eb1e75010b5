"""The one expression language of TrustDesk: CEL, type-checked against a declared schema.

Rules, routing and automations all store their conditions as CEL source written by an admin,
so every mistake must be caught when the expression is saved, with a message that names it:
syntax, undeclared variables, misspelled fields (of a record or of each record in a list),
operands of the wrong type, and a condition that cannot give true or false. CEL's own type
checker (`cel_expr_python`, the runtime of CEL's reference implementation) finds them all;
records are declared to it as protobuf message types built from the schema, so a record's
value is turned into such a message when the expression is evaluated. At run time, evaluation
problems surface as `ExpressionError` as well, never as the engine's own exceptions or values.
"""

from __future__ import annotations

import difflib
import re
import reprlib
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cel_expr_python import cel
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

MAX_SOURCE_CHARS = 4000

# A declaration: a scalar type; `list` or `dict` (contents unchecked); `[T]`, a list of T;
# `dict[str, T]`; a record, which is a mapping of field name to declaration.
Declared = type | types.GenericAlias | list[Any] | Mapping[str, Any]
_Converter = Callable[[Any], Any]

_FieldProto = descriptor_pb2.FieldDescriptorProto
_SCALARS: dict[type, tuple[cel.Type, int, str]] = {
    str: (cel.Type.STRING, _FieldProto.TYPE_STRING, "string"),
    int: (cel.Type.INT, _FieldProto.TYPE_INT64, "int"),
    float: (cel.Type.DOUBLE, _FieldProto.TYPE_DOUBLE, "double"),
    bool: (cel.Type.BOOL, _FieldProto.TYPE_BOOL, "bool"),
}
_PACKAGE = "trustdesk.schema"
_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_UNDECLARED = re.compile(r"undeclared reference to '([^']*)'")
_NO_FIELD = re.compile(r"undefined field '([^']*)' not found in struct '([^']*)'")
_NO_OVERLOAD = re.compile(r"found no matching overload for '([^']*)' applied to '\((.*)\)'")
# The engine's status code around its messages: "INVALID_ARGUMENT: ... [INVALID_ARGUMENT]".
_STATUS_PREFIX = re.compile(r"^[A-Z_]+: ")
_STATUS_SUFFIX = re.compile(r" \[[A-Z_]+\]$")
_OPERATORS = {
    "_==_": "==", "_!=_": "!=", "_<_": "<", "_<=_": "<=", "_>_": ">", "_>=_": ">=", "_+_": "+", "_-_": "-",
    "_*_": "*", "_/_": "/", "_%_": "%", "_&&_": "&&", "_||_": "||", "!_": "!", "-_": "-", "_?_:_": "?:",
    "_[_]": "[]", "@in": "in",
}


class ExpressionError(ValueError):
    """An expression was refused or failed; the message is meant for the admin who wrote it."""


@dataclass(frozen=True)
class Schema:
    """The top-level variables an expression may use, declared by the feature that evaluates it.

    A variable is declared as `str`, `int`, `float` or `bool`; as `dict[str, T]` of a scalar T;
    as a record — a mapping of field name to declaration, so that `report.polcy` is refused at
    save time — or as a one-item list `[T]`, a list of T, so that with
    `"signals": [{"label": str, "score": float}]` `signals.exists(s, s.lable == 'x')` is refused
    too. A bare `list` or `dict` leaves the contents unchecked. A record's fields are scalars,
    records, or lists of either.
    """

    variables: Mapping[str, Declared]
    _types: dict[str, cel.Type] = field(init=False, repr=False, compare=False)
    _converters: dict[str, _Converter | None] = field(init=False, repr=False, compare=False)
    # Message type name -> (how the admin writes it, its fields), to word the checker's refusals.
    _records: dict[str, tuple[str, Mapping[str, Declared]]] = field(init=False, repr=False, compare=False)
    _envs: dict[str | None, Any] = field(init=False, repr=False, compare=False)
    _pool: descriptor_pool.DescriptorPool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        builder = _MessageBuilder()
        declared = {name: builder.declare(name, kind) for name, kind in self.variables.items()}
        object.__setattr__(self, "_types", {name: t for name, (t, _) in declared.items()})
        object.__setattr__(self, "_converters", {name: c for name, (_, c) in declared.items()})
        object.__setattr__(self, "_records", builder.records)
        object.__setattr__(self, "_envs", {})
        builder.finish()
        object.__setattr__(self, "_pool", builder.pool)

    def fields(self, variable: str) -> Mapping[str, Declared] | None:
        """The declared fields of a record variable; None when it is not a record."""
        declared = self.variables[variable]
        return declared if isinstance(declared, Mapping) else None

    def described(self) -> list[tuple[str, str]]:
        """(what an admin writes, its type) for each variable and each field of a record variable."""
        rows: list[tuple[str, str]] = []
        for name, declared in self.variables.items():
            fields = self.fields(name)
            rows += [(f"{name}.{f}", _type_name(t)) for f, t in fields.items()] if fields else [(name, _type_name(declared))]
        return rows

    def env(self, without: str | None = None) -> Any:
        """The checking environment of these variables (less `without`), made once."""
        if without not in self._envs:
            variables = {name: t for name, t in self._types.items() if name != without}
            self._envs[without] = cel.NewEnv(descriptor_pool=self._pool, variables=variables)
        return self._envs[without]

    def convert(self, context: Mapping[str, Any], variables: Iterable[str]) -> dict[str, Any]:
        """The values of `variables` as the engine takes them: each record as its message."""
        data: dict[str, Any] = {}
        for name in variables:
            if name not in context:
                raise ExpressionError(f"could not evaluate: no value for {name!r}")
            converter = self._converters[name]
            data[name] = context[name] if converter is None else converter(context[name])
        return data

    def record(self, message_type: str) -> tuple[str, Mapping[str, Declared]] | None:
        """(how the admin writes it, its fields) of the record declared as `message_type`."""
        return self._records.get(message_type)

    def readable(self, engine_text: str) -> str:
        """The engine's words with each record's message type named by how the admin writes it."""
        for message_type, (path, _) in sorted(self._records.items(), key=lambda item: -len(item[0])):  # Record10 before Record1
            engine_text = engine_text.replace(message_type, path)
        return engine_text


class _MessageBuilder:
    """Declares a schema's records as protobuf message types in a pool of their own."""

    def __init__(self) -> None:
        self.file = descriptor_pb2.FileDescriptorProto(name="trustdesk_schema.proto", package=_PACKAGE, syntax="proto3")
        self.records: dict[str, tuple[str, Mapping[str, Declared]]] = {}
        self.pool = descriptor_pool.DescriptorPool()
        self._classes: dict[str, Any] = {}
        self._names: dict[int, str] = {}  # id of a record's fields -> its message type

    def declare(self, path: str, declared: Declared, in_record: bool = False) -> tuple[cel.Type, _Converter | None]:
        if isinstance(declared, Mapping):
            return self._record(path, declared)
        if isinstance(declared, list) and len(declared) == 1 and not isinstance(declared[0], list):
            item_type, item = self.declare(f"{path}[]", declared[0], in_record)
            return cel.Type.List(item_type), None if item is None else (lambda values: [item(v) for v in values])
        if isinstance(declared, type) and declared in _SCALARS:
            return _SCALARS[declared][0], None
        if not in_record:
            if declared is list:
                return cel.Type.LIST, None
            if declared is dict:
                return cel.Type.Map(cel.Type.STRING, cel.Type.DYN), None
            if (isinstance(declared, types.GenericAlias) and declared.__origin__ is dict
                    and declared.__args__[0] is str and declared.__args__[1] in _SCALARS):
                return cel.Type.Map(cel.Type.STRING, _SCALARS[declared.__args__[1]][0]), None
        raise TypeError(f"schema variable {path!r} declares an unsupported type {declared!r}")

    def _record(self, path: str, fields: Mapping[str, Declared]) -> tuple[cel.Type, _Converter]:
        name = f"Record{len(self.records) + 1}"
        full_name = f"{_PACKAGE}.{name}"
        self.records[full_name] = (path, fields)
        message = self.file.message_type.add(name=name)
        nested: list[tuple[str, _Converter | None]] = []
        for number, (field_name, declared) in enumerate(fields.items(), start=1):
            field_type, converter = self.declare(f"{path}.{field_name}", declared, in_record=True)
            nested.append((field_name, converter))
            repeated = isinstance(declared, list)
            entry = message.field.add(name=field_name, number=number,
                                      label=_FieldProto.LABEL_REPEATED if repeated else _FieldProto.LABEL_OPTIONAL)
            item = declared[0] if repeated else declared  # type: ignore[index]
            if isinstance(item, Mapping):
                entry.type, entry.type_name = _FieldProto.TYPE_MESSAGE, "." + self._names[id(item)]
            else:
                entry.type = _SCALARS[item][1]
        self._names[id(fields)] = full_name
        classes = self._classes

        def convert(value: Mapping[str, Any]) -> Any:
            try:
                values = {f: value[f] if c is None else c(value[f]) for f, c in nested}
            except KeyError as exc:
                raise ExpressionError(f"could not evaluate: no value for '{path}.{exc.args[0]}'") from None
            except TypeError:
                raise ExpressionError(f"could not evaluate: {path} is {type(value).__name__}, not a record") from None
            try:
                return classes[full_name](**values)
            except (TypeError, ValueError) as exc:
                raise ExpressionError(f"could not evaluate: a field of {path} has a value of the wrong type ({exc})") from None

        return cel.Type(full_name), convert

    def finish(self) -> None:
        self.pool.Add(self.file)
        for full_name in self.records:
            self._classes[full_name] = message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))


def _type_name(declared: Declared) -> str:
    if isinstance(declared, Mapping):
        return "{" + ", ".join(f"{f}: {_type_name(t)}" for f, t in declared.items()) + "}"
    if isinstance(declared, list):
        return f"list of {_type_name(declared[0])}"
    if isinstance(declared, types.GenericAlias):
        return f"dict of string to {_type_name(declared.__args__[1])}"
    if declared in _SCALARS:
        return _SCALARS[declared][2]  # type: ignore[index]
    return f"{declared.__name__}"  # type: ignore[union-attr]


class Prepared:
    """An event's values converted for the engine once, for every expression evaluated on it
    (converting records to messages is most of what evaluating costs): only the variables the
    expressions read. A value that cannot be converted is left out with its error, so the
    expressions that read it fail (as `ExpressionError`) and the others still run."""

    __slots__ = ("data", "failed")

    def __init__(self, schema: Schema, values: Mapping[str, Any], used: Iterable[str]) -> None:
        self.data: dict[str, Any] = {}
        self.failed: dict[str, ExpressionError] = {}
        for name in sorted(set(used)):
            try:
                self.data.update(schema.convert(values, [name]))
            except ExpressionError as exc:
                self.failed[name] = exc

    def of(self, variables: Iterable[str]) -> dict[str, Any]:
        data = {}
        for name in variables:
            if name in self.failed:
                raise self.failed[name]
            if name not in self.data:
                raise ExpressionError(f"could not evaluate: no value for {name!r}")
            data[name] = self.data[name]
        return data


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate; made only by `compile_expression`."""

    source: str
    variables: tuple[str, ...]
    _program: Any = field(repr=False, compare=False)
    _schema: Schema = field(repr=False, compare=False)

    def _run(self, context: Mapping[str, Any] | Prepared) -> Any:
        data = context.of(self.variables) if isinstance(context, Prepared) else self._schema.convert(context, self.variables)
        try:
            result = self._program.eval(data=data)
        except ExpressionError:
            raise
        except Exception as exc:  # a value of the wrong type for its declaration; callers see one type
            raise ExpressionError(f"could not evaluate: {exc}") from exc
        if result.type() == cel.Type.ERROR:
            raise ExpressionError(f"could not evaluate: {_status_less(str(result.value()))}")
        return result

    def evaluate(self, context: Mapping[str, Any] | Prepared) -> Any:
        return self._run(context).plain_value()

    def matches(self, context: Mapping[str, Any] | Prepared) -> bool:
        """Evaluate a condition; anything but true or false is an error, not a guess."""
        result = self._run(context).value()
        if not isinstance(result, bool):
            raise ExpressionError(
                f"a condition must give true or false, but this gave {type(result).__name__} {reprlib.repr(result)}"
            )
        return result


class Conditions:
    """Several checked conditions evaluated together, in one call of the engine (a rule set runs
    on every event; one call costs a third of one per rule). It answers only when every one of
    them gives true or false; otherwise `None`, and the caller evaluates them one by one to say
    which failed and why."""

    def __init__(self, conditions: Sequence[Expression], schema: Schema) -> None:
        self.variables = tuple(sorted({name for condition in conditions for name in condition.variables}))
        # Each on lines of its own, so that a condition's trailing // comment ends with its line.
        source = "[" + ",".join(f"\n({condition.source}\n)" for condition in conditions) + "]"
        try:
            self._program: Any = schema.env().compile(source)
        except RuntimeError:  # each compiled alone, so not expected; then they are evaluated one by one
            self._program = None

    def matches(self, prepared: Prepared) -> list[bool] | None:
        if self._program is None:
            return None
        try:
            result = self._program.eval(data=prepared.of(self.variables))
        except Exception:  # noqa: BLE001 - the one-by-one evaluation says what failed
            return None
        if result.type() == cel.Type.ERROR:
            return None
        values = result.plain_value()
        return values if all(isinstance(value, bool) for value in values) else None


def compile_expression(source: str, schema: Schema, *, condition: bool = False) -> Expression:
    """Check `source` against `schema` as an admin's save must, refusing with the reason.

    A `condition` must give true or false; one whose type is known to be another is refused.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"the expression is {len(source)} characters long; the limit is {MAX_SOURCE_CHARS}")
    try:
        program = schema.env().compile(source)
    except RuntimeError as exc:
        raise ExpressionError(_refusal(str(exc), source, schema)) from exc
    returns = program.return_type()
    if condition and returns != cel.Type.BOOL and returns != cel.Type.DYN:
        gives = schema.readable(returns.name()) if returns.is_message() else returns.name().lower()
        raise ExpressionError(f"a condition must give true or false, but this gives {gives}")
    variables = tuple(sorted(name for name in schema.variables if not _compiles(source, schema.env(without=name))))
    _check_patterns(source, schema)
    return Expression(source, variables, program, schema)


# A pattern written into the rule, as `x.matches('…')` or `matches(x, '…')`: the checker takes any
# string, so one the engine cannot compile would fail on every event; it is tried when saved.
_WRITTEN_PATTERN = re.compile(r"""matches\((?:[^()'"]*,)?\s*([rR]?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))\s*\)""")


def _check_patterns(source: str, schema: Schema) -> None:
    for literal in _WRITTEN_PATTERN.findall(source):
        result = schema.env().compile(f"''.matches({literal})").eval(data={})
        if result.type() == cel.Type.ERROR:
            raise ExpressionError(f"the pattern {literal} is not a valid regular expression: {_status_less(str(result.value()))}")


def _compiles(source: str, env: Any) -> bool:
    """Whether `source` checks in `env`: false exactly when it uses a variable `env` lacks."""
    try:
        env.compile(source)
    except RuntimeError:
        return False
    return True


def _refusal(engine_message: str, source: str, schema: Schema) -> str:
    """Word the checker's first error for the admin: what is wrong, and where."""
    first = engine_message[engine_message.find("ERROR: "):].split("\nERROR: ")[0]
    head, _, snippet = first.partition("\n")
    found = _ERROR.match(head)
    if not found:
        return f"refused: {_status_less(engine_message)}"
    line, column, message = found.group(1), found.group(2), found.group(3)
    where = f"line {line}, column {column}"
    if message.startswith("Syntax error: "):
        return f"syntax error at {where}: {message.removeprefix('Syntax error: ')}\n{_STATUS_SUFFIX.sub('', snippet)}"
    undeclared = _UNDECLARED.match(message)
    if undeclared:
        name = undeclared.group(1).split(".")[0]
        if _is_call(source, int(line), int(column)):
            return f"unknown name {name!r}: neither a declared variable nor a function that takes these arguments ({where})"
        return f"unknown variable {name!r}{_hint(name, schema.variables)}"
    no_field = _NO_FIELD.match(message)
    if no_field:
        record = schema.record(no_field.group(2))
        if record:
            path, fields = record
            return f"{path} has no field {no_field.group(1)!r}{_hint(no_field.group(1), fields)}"
    no_overload = _NO_OVERLOAD.match(message)
    if no_overload:
        function, operands = no_overload.group(1), schema.readable(no_overload.group(2))
        named = f"'{_OPERATORS[function]}'" if function in _OPERATORS else f"{function}()"
        mixed = "; CEL does not mix int and double: write 1.0 for a double, or convert with double() or int()"
        numbers = {"int", "double"} <= set(operands.replace(" ", "").split(","))
        return f"type error at {where}: {named} does not take ({operands}){mixed if numbers else ''}"
    return f"type error at {where}: {schema.readable(message)}"


def _is_call(source: str, line: int, column: int) -> bool:
    """Whether the checker's position points at a call's parenthesis (a function, not a variable)."""
    lines = source.split("\n")
    text = lines[line - 1] if line <= len(lines) else ""
    return text[column - 1:column] == "("


def _status_less(text: str) -> str:
    return _STATUS_SUFFIX.sub("", _STATUS_PREFIX.sub("", text.strip()))


def _hint(name: str, known: Iterable[str]) -> str:
    """Point at the likely intended name, or list them all when nothing is close."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "; known: " + ", ".join(names)
