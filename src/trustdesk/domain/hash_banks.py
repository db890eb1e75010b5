"""Hash banks: what a bank is for, and how a list of hashes is read. No I/O.

A list arrives as text: one hash per line, or CSV rows `algorithm,value[,note]` (a header row
naming `algorithm` is skipped; blank lines and `#` comments too). Without an algorithm the length
decides: 32 hex characters are MD5, but 64 could be PDQ or SHA-256, so such a line needs the
algorithm column or the importer's `--algorithm`. Values are stored lower-case. A bad line is
reported with its number and the rest are kept, so one typo does not lose a list of thousands.
"""

from __future__ import annotations

import csv
import string
from dataclasses import dataclass
from enum import StrEnum

from trustdesk.domain.errors import FieldError
from trustdesk.domain.policies import Action
from trustdesk.domain.vocabulary import HashAlgorithm

HEX_LENGTHS = {HashAlgorithm.MD5: 32, HashAlgorithm.SHA256: 64, HashAlgorithm.PDQ: 64}
DEFAULT_PDQ_THRESHOLD = 31
# Random PDQ hashes lie about 128 bits apart (σ ≈ 8): beyond 64, unrelated pictures would match.
MAX_PDQ_THRESHOLD = 64
# PDQ's own quality score (0–100): below this a picture is too featureless (a flat colour, a
# blank screen) for its hash to say anything, and it would match unrelated pictures like it.
MIN_PDQ_QUALITY = 50
MAX_NAME = 200
MAX_NOTE = 500
_HEX = frozenset(string.hexdigits)


class BankKind(StrEnum):
    CSAM = "csam"
    TERROR = "terror"
    NCII = "ncii"
    SCAM = "scam"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class BankEntry:
    algorithm: HashAlgorithm
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ParsedList:
    entries: list[BankEntry]
    bad: list[BadLine]


@dataclass(frozen=True, slots=True)
class BankSpec:
    """A bank's settings. `policy_code` and `action` go together; neither means review only."""

    name: str
    kind: str
    description: str = ""
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD
    policy_code: str | None = None
    action: str | None = None


def check_bank(spec: BankSpec) -> BankSpec:
    name = spec.name.strip()
    if not name or len(name) > MAX_NAME:
        raise FieldError("name", f"give the bank a name of 1 to {MAX_NAME} characters")
    if spec.kind not in set(BankKind):
        raise FieldError("kind", f"one of {', '.join(BankKind)}")
    if not isinstance(spec.pdq_threshold, int) or not 0 <= spec.pdq_threshold <= MAX_PDQ_THRESHOLD:
        raise FieldError("pdq_threshold", f"a Hamming distance from 0 to {MAX_PDQ_THRESHOLD}")
    policy_code = (spec.policy_code or "").strip() or None
    action = (spec.action or "").strip() or None
    if (policy_code is None) != (action is None):
        raise FieldError("action", "give both a policy and an action, or neither (review only)")
    if action is not None and action not in set(Action):
        raise FieldError("action", f"one of {', '.join(Action)}")
    return BankSpec(name, spec.kind, spec.description.strip(), spec.pdq_threshold, policy_code, action)


def entry(value: str, algorithm: str | None = None, note: str = "") -> BankEntry:
    """One hash, checked and normalised; `FieldError` says what is wrong with it."""
    value = value.strip().lower()
    if not value or not _HEX.issuperset(value):
        raise FieldError("value", f"not a hex hash: {value[:80]!r}")
    if algorithm:
        try:
            kind = HashAlgorithm(algorithm.strip().lower())
        except ValueError:
            raise FieldError("algorithm", f"one of {', '.join(HashAlgorithm)}, got {algorithm[:40]!r}") from None
    else:
        kind = _detected(value)
    if len(value) != HEX_LENGTHS[kind]:
        raise FieldError("value", f"a {kind} hash is {HEX_LENGTHS[kind]} hex characters, got {len(value)}")
    if len(note) > MAX_NOTE:
        raise FieldError("note", f"at most {MAX_NOTE} characters")
    return BankEntry(kind, value, note.strip())


def _detected(value: str) -> HashAlgorithm:
    candidates = [a for a, length in HEX_LENGTHS.items() if length == len(value)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise FieldError("algorithm", f"{len(value)} hex characters could be {' or '.join(candidates)}: give the algorithm")
    raise FieldError("value", f"{len(value)} hex characters is no known hash (MD5 32, SHA-256 or PDQ 64)")


def parse_list(text: str, algorithm: HashAlgorithm | None = None) -> ParsedList:
    """Every good line as an entry (duplicates once), every bad one with its 1-based number."""
    entries: dict[tuple[HashAlgorithm, str], BankEntry] = {}
    bad: list[BadLine] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            fields = [f.strip() for f in next(csv.reader([stripped]))]
        except csv.Error as exc:  # such as a field over the csv module's size limit
            bad.append(BadLine(number, f"not a CSV line: {exc}"))
            continue
        if fields[0].lower() == "algorithm":  # a header row
            continue
        try:
            if len(fields) == 1:
                found = entry(fields[0], algorithm)
            else:
                if algorithm is not None and fields[0].lower() != algorithm:
                    raise FieldError("algorithm", f"the line says {fields[0][:40]!r} but the import is of {algorithm}")
                found = entry(fields[1], fields[0], ",".join(fields[2:]))
        except FieldError as exc:
            bad.append(BadLine(number, exc.message))
            continue
        entries.setdefault((found.algorithm, found.value), found)
    return ParsedList(list(entries.values()), bad)
