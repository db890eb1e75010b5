"""Reading hash lists: algorithms found by length or column, bad lines reported by number, the rest kept."""

from __future__ import annotations

import pytest

from trustdesk.domain.errors import FieldError
from trustdesk.domain.hash_banks import BankSpec, BadLine, check_bank, entry, parse_list
from trustdesk.domain.vocabulary import HashAlgorithm

MD5 = "D41D8CD98F00B204E9800998ECF8427E"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f" * 64


def test_a_plain_list_detects_md5_and_needs_the_algorithm_for_64_characters() -> None:
    parsed = parse_list(f"# known scams\n{MD5}\n\n{SHA}\nnot-hex\n{MD5.lower()}\nabc\n")
    assert [(e.algorithm, e.value) for e in parsed.entries] == [(HashAlgorithm.MD5, MD5.lower())]
    assert [b.line for b in parsed.bad] == [4, 5, 7]
    assert "sha256 or pdq" in parsed.bad[0].message and "give the algorithm" in parsed.bad[0].message
    assert "not a hex hash" in parsed.bad[1].message
    assert parse_list(f"{SHA}\n", HashAlgorithm.SHA256).entries[0].algorithm == HashAlgorithm.SHA256


def test_csv_rows_carry_algorithm_and_note_and_a_header_is_skipped() -> None:
    parsed = parse_list(f"algorithm,value,note\npdq,{PDQ},from partner, batch 3\nsha256,{SHA}\nmd5,{SHA}\ncrc32,abcd\n")
    assert [(e.algorithm, e.note) for e in parsed.entries] == [(HashAlgorithm.PDQ, "from partner,batch 3"), (HashAlgorithm.SHA256, "")]
    assert parsed.bad == [BadLine(4, "a md5 hash is 32 hex characters, got 64"), BadLine(5, parsed.bad[1].message)]
    assert "one of md5, sha256, pdq" in parsed.bad[1].message
    mixed = parse_list(f"pdq,{PDQ}\n", HashAlgorithm.SHA256)
    assert mixed.entries == [] and mixed.bad[0].line == 1


def test_bank_settings_are_checked() -> None:
    assert check_bank(BankSpec(" Scam photos ", "scam")).name == "Scam photos"
    assert check_bank(BankSpec("x", "csam", pdq_threshold=20, policy_code="CSAM", action="remove")).action == "remove"
    for spec, field in [(BankSpec("", "scam"), "name"), (BankSpec("x", "spam"), "kind"),
                        (BankSpec("x", "scam", pdq_threshold=65), "pdq_threshold"),
                        (BankSpec("x", "scam", policy_code="SCAM"), "action"),
                        (BankSpec("x", "scam", policy_code="SCAM", action="explode"), "action")]:
        with pytest.raises(FieldError) as caught:
            check_bank(spec)
        assert caught.value.field == field
    with pytest.raises(FieldError):
        entry("zz" * 16)
