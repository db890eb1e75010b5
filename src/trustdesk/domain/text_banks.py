"""Text banks: what a bank is, and which keywords, phrases and patterns it may hold. No I/O.

Rules name a bank (`'crypto_scam' in text_banks`), so its name is an identifier: a lower-case
letter, then letters, digits and underscores. A keyword is one word and a phrase one or more,
both stored lower-case with single spaces, as the matcher compares them case-insensitively.
A regular expression must compile in RE2, which runs in time linear in the text: patterns that
need backtracking (back-references, look-around) are refused with RE2's reason, so no entry
can stall matching. A pattern that matches empty text would match every text and is refused too.

A list arrives as text, one entry per line; blank lines and comment lines (`#` then a space, or
a lone `#`) are skipped, so a hashtag is still a keyword. A bad line is reported with its number
and the rest are kept, as for hash banks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import re2

from trustdesk.domain.client_input import NUL_MESSAGE
from trustdesk.domain.errors import FieldError
from trustdesk.domain.hash_banks import MAX_NOTE, BadLine

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
MAX_ENTRY = 300  # characters of one keyword, phrase or pattern
MAX_DESCRIPTION = 2000
# Entries a bank holds at most: every pattern of a bank is compiled into one RE2 set.
MAX_ENTRIES = 10_000
MAX_PATTERNS = 1_000
# Memory one bank's compiled set may take; RE2 refuses to build a larger one.
MAX_SET_MEMORY = 64 << 20
_COMMENT = re.compile(r"#(\s|$)")


class TextBankKind(StrEnum):
    KEYWORD = "keyword"
    PHRASE = "phrase"
    REGEX = "regex"


@dataclass(frozen=True, slots=True)
class TextBankSpec:
    """A bank's settings; `app` (a slug) and `language` None mean every app, every language."""

    name: str
    kind: str
    app: str | None = None
    language: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class TextEntry:
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ParsedEntries:
    entries: list[TextEntry]
    bad: list[BadLine]


def check_bank(spec: TextBankSpec) -> TextBankSpec:
    name = spec.name.strip()
    if not NAME.fullmatch(name):
        raise FieldError("name", "a lower-case letter, then up to 63 lower-case letters, digits or underscores")
    if spec.kind not in set(TextBankKind):
        raise FieldError("kind", f"one of {', '.join(TextBankKind)}")
    language = (spec.language or "").strip().lower() or None
    if language is not None and not LANGUAGE.fullmatch(language):
        raise FieldError("language", "a language code such as en or pt (it covers pt-BR too), or none for every language")
    description = spec.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise FieldError("description", f"at most {MAX_DESCRIPTION} characters")
    return TextBankSpec(name, spec.kind, (spec.app or "").strip() or None, language, description)


def primary_language(tag: str | None) -> str | None:
    """The language of a tag (`pt-BR`, `pt_br` → `pt`), the one a bank is kept for."""
    language = (tag or "").strip().split("-")[0].split("_")[0].lower()
    return language or None


def regex_options() -> re2.Options:
    """How patterns compile, here and in the matcher: case-insensitive, quiet on errors."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = MAX_SET_MEMORY
    return options


def entry(kind: str, value: str, note: str = "") -> TextEntry:
    """One entry of a bank of `kind`, checked and put in its stored form."""
    if kind == TextBankKind.REGEX:
        value = value.strip()
        _check_length(value)
        _check_pattern(value)
    else:
        value = " ".join(value.lower().split())
        _check_length(value)
        if kind == TextBankKind.KEYWORD and " " in value:
            raise FieldError("value", f"a keyword is one word; put {value[:80]!r} in a phrase bank")
        if not any(ch.isalnum() for ch in value):
            raise FieldError("value", f"no letter or digit in {value[:80]!r}")
    if len(note) > MAX_NOTE:
        raise FieldError("note", f"at most {MAX_NOTE} characters")
    return TextEntry(value, note.strip())


def _check_length(value: str) -> None:
    if not value:
        raise FieldError("value", "empty")
    if "\x00" in value:  # a file's line may hold one; PostgreSQL cannot store it
        raise FieldError("value", NUL_MESSAGE)
    if len(value) > MAX_ENTRY:
        raise FieldError("value", f"at most {MAX_ENTRY} characters, got {len(value)}")


def _check_pattern(value: str) -> None:
    try:
        pattern = re2.compile(value, options=regex_options())
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise FieldError("value", f"RE2 refuses {value[:80]!r}: {reason}") from None
    if pattern.search("") is not None:
        raise FieldError("value", f"{value[:80]!r} matches empty text, so it would match every text")


def entry_limit(kind: str) -> int:
    """How many live entries a bank of `kind` may hold."""
    return MAX_PATTERNS if kind == TextBankKind.REGEX else MAX_ENTRIES


def parse_lines(kind: str, text: str, note: str = "") -> ParsedEntries:
    """Every good line as an entry (duplicates once), every bad one with its 1-based number."""
    entries: dict[str, TextEntry] = {}
    bad: list[BadLine] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or _COMMENT.match(line.strip()):
            continue
        try:
            found = entry(kind, line, note)
        except FieldError as exc:
            bad.append(BadLine(number, exc.message))
            continue
        entries.setdefault(found.value, found)
    return ParsedEntries(list(entries.values()), bad)
