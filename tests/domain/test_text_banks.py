"""Text bank names are rule identifiers; entries are checked for their bank's kind, and
patterns RE2 cannot run in linear time are refused with its reason."""

from __future__ import annotations

import pytest

from trustdesk.domain.errors import FieldError
from trustdesk.domain.hash_banks import BadLine
from trustdesk.domain.text_banks import (
    MAX_ENTRY,
    TextBankSpec,
    TextEntry,
    check_bank,
    entry,
    parse_lines,
    primary_language,
)


def test_a_bank_is_named_as_rules_name_it_and_kept_for_a_language() -> None:
    assert check_bank(TextBankSpec(" crypto_scam ", "phrase", " dating ", "PT", " seen in DMs ")) == TextBankSpec(
        "crypto_scam", "phrase", "dating", "pt", "seen in DMs")
    assert check_bank(TextBankSpec("a", "regex", "", "")) == TextBankSpec("a", "regex", None, None, "")
    for name in ("", "Crypto", "1st", "crypto-scam", "crypto scam", "_x", "x" * 65):
        with pytest.raises(FieldError) as refused:
            check_bank(TextBankSpec(name, "keyword"))
        assert refused.value.field == "name"
    with pytest.raises(FieldError) as refused:
        check_bank(TextBankSpec("ok", "hash"))
    assert (refused.value.field, refused.value.message) == ("kind", "one of keyword, phrase, regex")
    with pytest.raises(FieldError) as refused:
        check_bank(TextBankSpec("ok", "keyword", language="pt-BR"))
    assert refused.value.field == "language"


def test_languages_are_read_by_their_primary_subtag() -> None:
    assert [primary_language(t) for t in ("pt-BR", "pt_br", "EN", "", None)] == ["pt", "pt", "en", None, None]


def test_keywords_are_one_word_and_phrases_words_stored_lower_case() -> None:
    assert entry("keyword", "  Bitcoin ", " from a report ") == TextEntry("bitcoin", "from a report")
    assert entry("phrase", "Send  me\tBTC") == TextEntry("send me btc")
    assert entry("keyword", "#DoubleYourMoney") == TextEntry("#doubleyourmoney")
    with pytest.raises(FieldError) as refused:
        entry("keyword", "send me")
    assert refused.value.message == "a keyword is one word; put 'send me' in a phrase bank"
    for kind, value in (("keyword", "!!!"), ("phrase", "   "), ("regex", "a\x00b"), ("phrase", "x" * (MAX_ENTRY + 1))):
        with pytest.raises(FieldError) as refused:
            entry(kind, value)
        assert refused.value.field == "value"
    with pytest.raises(FieldError) as refused:
        entry("keyword", "ok", "n" * 501)
    assert refused.value.field == "note"


def test_patterns_must_compile_in_re2_and_not_match_empty_text() -> None:
    assert entry("regex", r" \bbtc\s*\d+ ") == TextEntry(r"\bbtc\s*\d+")
    # Linear-time matching: the catastrophic (a+)+ is accepted, since RE2 runs it without backtracking.
    assert entry("regex", r"(a+)+$").value == r"(a+)+$"
    refusals = {
        r"(\w+)\s\1": r"RE2 refuses '(\\w+)\\s\\1': invalid escape sequence: \1",
        r"pay(?=pal)": "RE2 refuses 'pay(?=pal)': invalid perl operator: (?=",
        r"[a-": "RE2 refuses '[a-': missing ]: [a-",
        r"x{2000}": "RE2 refuses 'x{2000}': invalid repetition size: {2000}",
        r"(btc)?": "'(btc)?' matches empty text, so it would match every text",
    }
    for pattern, message in refusals.items():
        with pytest.raises(FieldError) as refused:
            entry("regex", pattern)
        assert (refused.value.field, refused.value.message) == ("value", message)


def test_a_list_keeps_good_lines_once_and_names_bad_ones() -> None:
    listing = "# crypto words\nBitcoin\n\nbitcoin\nsend me\n#\n#btc\n!!\n"
    parsed = parse_lines("keyword", listing, "list of 1 Dec")
    assert parsed.entries == [TextEntry("bitcoin", "list of 1 Dec"), TextEntry("#btc", "list of 1 Dec")]
    assert parsed.bad == [BadLine(5, "a keyword is one word; put 'send me' in a phrase bank"), BadLine(8, "no letter or digit in '!!'")]
