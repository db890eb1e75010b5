"""Undo the tricks people use to slip abuse and scams past a text filter, before scoring.

The classifier sees words the way a reader does, not the way they were typed: full-width and
"mathematical" letters, Cyrillic and Greek look-alikes, zero-width characters, accents and
combining marks, HTML character references (``&#102;uck``), leetspeak inside words (``sh1t``,
``b!tch``, ``$hit``), letters repeated for emphasis (``fuuuuck``) and letters spread out with dots
or spaces (``f.u.c.k``, ``f u c k``) all become the plain lowercase word. Links become ``url``
followed by their host, so that a shortener or a messaging-app host is a feature while the random
path is not. Mentions (``@name``) are dropped: who a message replies to says nothing about what it
says, and in the training tweets replies were mostly the offensive ones, which taught the model
that a mention alone is abuse.

The same function runs at training and at scoring time, so anything it folds together the model
cannot tell apart: it is deliberately conservative with digits (only digits *inside* a word are
read as letters, ``$100`` and phone numbers stay as they are).
"""

from __future__ import annotations

import html
import re
import unicodedata

# Letters that look like Latin ones in Cyrillic and Greek (lower case; input is lowered first).
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h", "ӏ": "l", "ɡ": "g", "ᴄ": "c", "ɑ": "a", "ʟ": "l",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c", "μ": "u",
}
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
_HOMOGLYPH_CHARS = frozenset(_HOMOGLYPHS)

# Characters read as letters: digits and symbols between two letters ("sh1t", "b!tch", "pu55y"),
# and "$" or "@" at the edge of a word ("$hit", "@ss", "a$$"). Digits at a word's edge stay digits,
# so "150p", "10am" and "4u" keep their meaning.
_LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                             "9": "g", "@": "a", "$": "s", "!": "i", "|": "l"})
# Starts at the symbol, the letter before it checked by the look-behind: the same matches as
# "(?<=[a-z])[…]+(?=[a-z])", found without trying every position of the text.
_LEET_INNER = re.compile(r"[0134578@$!|9](?<=[a-z][0134578@$!|9])[0134578@$!|9]*(?=[a-z])")
_LEET_EDGE = re.compile(r"(?<![\w@$])[@$]+(?=[a-z])|(?<=[a-z])\$+(?![\w$])")
_TOP_LEVEL_DOMAINS = "com|net|org|ly|me|io|co|gl|gg|xyz|top|info|biz|app|link|club|site|online|shop|store|uk|br|es|mx|pt|ar"
_URL = re.compile(r"(?:https?://|www\.)([^\s/?#]+)\S*|\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:" + _TOP_LEVEL_DOMAINS + r"))\b(?:/\S*)?")
_MENTION = re.compile(r"(?<![\w@])@[a-z0-9_]{4,}")
# Single letters split by dots, dashes, stars…: at least three letters ("f.u.c.k", "a-s-s").
_SPLIT_PUNCT = re.compile(r"(?<!\w)(?:[a-z][.\-*_~+,'/\\]+){2,}[a-z](?!\w)")
# Single letters split by spaces: at least four ("f u c k"), since "u r a" is ordinary SMS.
_SPLIT_SPACE = re.compile(r"(?<!\w)(?:[a-z] +){3,}[a-z](?!\w)")
_REPEATS = re.compile(r"(\D)\1{2,}")  # not digits: "£1000" stays
_NOT_LETTER = re.compile(r"[^a-z]")
# What a match of _URL, _SPLIT_PUNCT or _SPLIT_SPACE must contain: a text without it skips that
# pattern, which is most of the cost of normalising ordinary messages.
_URL_HINT = re.compile(r"://|www\.|\.(?:" + _TOP_LEVEL_DOMAINS + r")\b")
_SPLIT_PUNCT_HINT = re.compile(r"[.\-*_~+,'/\\][a-z][.\-*_~+,'/\\]")
_SPLIT_SPACE_HINT = re.compile(r" [a-z] +[a-z] ")
_MARKS = frozenset(("Mn", "Me", "Cf"))


class _MarksDropped(dict[int, int | None]):
    """A `str.translate` table that deletes combining marks and format characters (categories
    Mn, Me, Cf) and keeps everything else; each code point's category is looked up once."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) in _MARKS else code
        self[code] = kept
        return kept


_DROP_MARKS = _MarksDropped()


def _fold_unicode(text: str) -> str:
    """NFKC for full-width and styled letters, then drop format characters and combining marks."""
    text = unicodedata.normalize("NFKC", text).lower()
    kept = unicodedata.normalize("NFD", text).translate(_DROP_MARKS)
    return " ".join(_unmask_token(token) for token in kept.split(" ")) if _has_lookalikes(kept) else kept


def _has_lookalikes(text: str) -> bool:
    return not _HOMOGLYPH_CHARS.isdisjoint(text)


def _unmask_token(token: str) -> str:
    """Map look-alikes in a token that mixes scripts or is made only of look-alikes.

    A genuine Russian or Greek word nearly always holds a letter with no Latin twin, so it is
    left alone; "fuсk" with a Cyrillic "с", or "ѕех" made only of look-alikes, is unmasked.
    """
    letters = [ch for ch in token if ch.isalpha()]
    if not letters or not _has_lookalikes(token):
        return token
    latin = any("a" <= ch <= "z" for ch in letters)
    if latin or all(ch in _HOMOGLYPH_CHARS for ch in letters):
        return token.translate(_HOMOGLYPH_TABLE)
    return token


def _url(match: re.Match[str]) -> str:
    host = match.group(1) or match.group(2) or ""
    return f" url {host.removeprefix('www.')} "


def _leet(match: re.Match[str]) -> str:
    return match.group(0).translate(_LEET_TABLE)


def _once(match: re.Match[str]) -> str:
    return match.group(1)  # a function: cheaper than expanding the template r"\1" for each match


def normalise(text: str) -> str:
    """The text as the classifier reads it: lowercase, plain letters, single spaces."""
    if "&" in text:
        text = html.unescape(text)
    text = text.lower() if text.isascii() else _fold_unicode(text)
    if _URL_HINT.search(text):
        text = _URL.sub(_url, text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    text = _LEET_INNER.sub(_leet, text)
    if "@" in text or "$" in text:
        text = _LEET_EDGE.sub(_leet, text)
    if _SPLIT_PUNCT_HINT.search(text):
        text = _SPLIT_PUNCT.sub(lambda m: _NOT_LETTER.sub("", m.group(0)), text)
    if _SPLIT_SPACE_HINT.search(text):
        text = _SPLIT_SPACE.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _REPEATS.sub(_once, text)
    return " ".join(text.split())  # runs of whitespace become one space, none at either end
