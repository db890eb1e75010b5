"""Matching text against every active text bank, in one process, kept current from the database.

Each process holds one `TextBankMatcher`. Every bank is compiled into one RE2 set, which
reports in a single linear pass which of its entries occur, however many there are:
- keywords and phrases are normalised as the classifier reads text (`analysis.text.normalise`:
  look-alike letters, zero-width characters, leetspeak, repeated and spread-out letters) and
  looked for in the normalised text; the few found are then kept only where they stand as
  whole words (a letter, digit or underscore on neither side), so `crypto` is found in "сrурtо"
  and "c.r.y.p.t.o" but not in "cryptography". (Word boundaries inside the set would make RE2
  build a Unicode letter class per entry, too large for a set of hundreds.)
- patterns are matched against both the text as written and the normalised text, ignoring case.

Changes are seen without a reload per call: `matched()` refreshes when the last refresh is older
than `max_age` (a second by default), and a refresh reads only each active bank's `revision`,
which every change bumps in its own transaction; a bank whose revision moved is read again and
recompiled, the others are kept.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

import re2
from sqlalchemy import select

from trustdesk.analysis.text.normalise import normalise
from trustdesk.domain.text_banks import TextBankKind, primary_language, regex_options
from trustdesk.store.database import Database
from trustdesk.store.models import App, TextBank, TextBankEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Bank:
    name: str
    app: str | None
    language: str | None
    revision: int
    entries: tuple[str, ...]
    found: re2.Set
    # Per entry of a keyword or phrase bank, the whole-word pattern its hits must also match;
    # empty for a bank of patterns, which are matched on the raw text too.
    words: tuple[str, ...]

    def applies(self, app: str, language: str | None) -> bool:
        return self.app in (None, app) and self.language in (None, language)

    def matched(self, raw: str, normalised: str) -> list[str]:
        hits = set(self.found.Match(normalised) or ())
        if self.words:
            hits = {i for i in hits if re.search(self.words[i], normalised)}
        else:
            hits.update(self.found.Match(raw) or ())
        return sorted({self.entries[i] for i in hits})


class TextBankMatcher:
    """Every active bank compiled, for this process; safe to query from many threads."""

    def __init__(self, db: Database, *, max_age: float = 1.0) -> None:
        self._db = db
        self._max_age = max_age
        self._refresh_lock = threading.Lock()
        self._refreshed_at = -float("inf")
        self._banks: dict[int, _Bank] = {}

    def refresh(self) -> int:
        """Recompile the banks that changed since the last refresh; returns how many did."""
        with self._refresh_lock:
            started = time.monotonic()
            with self._db.reader() as session:
                revisions = dict(session.execute(
                    select(TextBank.id, TextBank.revision).where(TextBank.active.is_(True))).all())
                changed = [i for i, revision in revisions.items() if i not in self._banks or self._banks[i].revision != revision]
                banks = {i: bank for i, bank in self._banks.items() if revisions.get(i) == bank.revision}
                if changed:
                    rows = session.execute(select(TextBank, App.slug).outerjoin(App, App.id == TextBank.app_id)
                                           .where(TextBank.id.in_(changed))).all()
                    values: dict[int, list[str]] = {i: [] for i in changed}
                    for bank_id, value in session.execute(select(TextBankEntry.bank_id, TextBankEntry.value).where(
                            TextBankEntry.bank_id.in_(changed), TextBankEntry.removed_at.is_(None))):
                        values[bank_id].append(value)
                    for bank, slug in rows:
                        banks[bank.id] = _compiled(bank, slug, values[bank.id])
            self._banks = banks
            self._refreshed_at = started
            return len(changed)

    def matched(self, text: str, *, app: str, language: str | None) -> dict[str, list[str]]:
        """Bank name → the entries found in `text` (sorted), for the banks of `app` or of every
        app and of `language` (`pt-BR` reads `pt` banks) or of every language; a text of no
        known language is matched only by banks of every language."""
        if time.monotonic() - self._refreshed_at >= self._max_age and not self._refresh_lock.locked():
            self.refresh()
        wanted = primary_language(language)
        banks = [bank for bank in self._banks.values() if bank.entries and bank.applies(app, wanted)]
        if not banks:
            return {}
        normalised = normalise(text)
        found = {bank.name: bank.matched(text, normalised) for bank in banks}
        return {name: entries for name, entries in sorted(found.items()) if entries}


def _compiled(bank: TextBank, app: str | None, values: list[str]) -> _Bank:
    """The bank's entries in one RE2 set. If RE2 cannot build it (`pattern_set` refused the
    patterns when they were added, so only a lower limit since could), the error is logged and
    the bank matches nothing until it changes again."""
    try:
        found = pattern_set(bank.kind, values)
    except re2.error as exc:
        log.error("text bank not matched: cannot compile it", extra={"bank": bank.name, "error": str(exc)})
        found, values = pattern_set(bank.kind, []), []
    words = () if bank.kind == TextBankKind.REGEX else tuple(_whole_word(normalise(v)) for v in values)
    return _Bank(bank.name, app, bank.language, bank.revision, tuple(values), found, words)


def pattern_set(kind: str, values: list[str]) -> re2.Set:
    """A bank's entries compiled together: patterns as written, keywords and phrases as the
    normalised literal; raises `re2.error` when RE2 cannot hold them together."""
    found = re2.Set.SearchSet(regex_options())
    for value in values:
        found.Add(value if kind == TextBankKind.REGEX else re.escape(normalise(value)))
    found.Compile()
    return found


def _whole_word(literal: str) -> str:
    return rf"(?<!\w){re.escape(literal)}(?!\w)"
