"""Evasion normalisation: each trick is undone, and ordinary text keeps its meaning."""

from __future__ import annotations

import pytest

from trustdesk.analysis.text.normalise import normalise


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("sh1t b!tch pu55y h0e", "shit bitch pussy hoe"),  # leetspeak between letters
        ("$hit a$$ @ss", "shit ass ass"),  # symbols at a word's edge
        ("fuсk yоu", "fuck you"),  # Cyrillic с and о inside Latin words
        ("ѕех", "sex"),  # a word made only of Cyrillic look-alikes
        ("fυck", "fuck"),  # Greek upsilon
        ("Ｆｕｃｋ ｙｏｕ", "fuck you"),  # full-width
        ("𝐟𝐮𝐜𝐤", "fuck"),  # mathematical bold
        ("f\u200bu\u200dc\u2060k\ufeff", "fuck"),  # zero-width characters
        ("fu\u0301ck\u0336", "fuck"),  # combining marks
        ("fuuuuuck yooouuu", "fuck you"),  # repeated letters
        ("f.u.c.k off", "fuck off"),  # letters split by dots
        ("f-u-c-k you", "fuck you"),
        ("f u c k you", "fuck you"),  # letters split by spaces
        ("Check http://bit.ly/x9Zq?a=1 and www.Example.com/path", "check url bit.ly and url example.com"),
        ("&#102;uck y&#x6f;u &amp; me", "fuck you & me"),  # HTML character references
        ("@somebody hi @user", "hi"),  # mentions are dropped
    ],
)
def test_evasion_is_undone(typed: str, read: str) -> None:
    assert normalise(typed) == read


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("u r a winner", "u r a winner"),  # text-speak single letters are not joined
        ("call 08712345678 for £1000 150p/msg 10am 4u", "call 08712345678 for £1000 150p/msg 10am 4u"),  # numbers stay
        ("Hello! How are you?", "hello! how are you?"),  # a final "!" is not a letter
        ("привет мир", "привет мир"),  # a genuine Russian phrase is left alone
        ("coração não é café", "coracao nao e cafe"),  # accents fold
        ("good  food\n\tthere", "good food there"),
    ],
)
def test_ordinary_text_keeps_its_meaning(typed: str, read: str) -> None:
    assert normalise(typed) == read
