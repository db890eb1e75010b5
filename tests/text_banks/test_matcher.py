"""The matcher: keywords and phrases on word boundaries of the normalised text, patterns on the
text as written and normalised, banks scoped to their app and language, changes seen after a refresh."""

from __future__ import annotations

from trustdesk.audit.log import Actor
from trustdesk.domain.text_banks import TextBankSpec, parse_lines
from trustdesk.organisation import ensure_app
from trustdesk.store.database import Database
from trustdesk.text_banks.banks import add_entries, bank_named, create_bank, remove_entry, update_bank
from trustdesk.text_banks.matcher import TextBankMatcher

ACTOR = Actor("cli", "operator")


def _bank(db: Database, spec: TextBankSpec, lines: str) -> None:
    with db.session() as s:
        if spec.app:
            ensure_app(s, ACTOR, spec.app, spec.app.title())
        bank = create_bank(s, ACTOR, spec)
        add_entries(s, ACTOR, bank, parse_lines(spec.kind, lines).entries, source="test")


def test_keywords_and_phrases_match_whole_words_through_evasions(db: Database) -> None:
    _bank(db, TextBankSpec("crypto_scam", "keyword"), "crypto\nusdt\n#doubleyourmoney")
    _bank(db, TextBankSpec("pitches", "phrase"), "send me\nguaranteed returns")
    matcher = TextBankMatcher(db)
    match = lambda text: matcher.matched(text, app="dating", language="en")  # noqa: E731
    assert match("Learn CRYPTO, send me USDT!") == {"crypto_scam": ["crypto", "usdt"], "pitches": ["send me"]}
    assert match("cryptography is fun; cryptos too; sender medal") == {}
    for evasion in ("сrурtо", "ｃｒｙｐｔｏ", "cry\u200bpto", "cryp7o", "c.r.y.p.t.o", "c r y p t o", "cryyyyypto"):
        assert match(f"buy {evasion} now") == {"crypto_scam": ["crypto"]}, evasion
    assert match("GUARANTEED   returns... #DoubleYourMoney") == {"crypto_scam": ["#doubleyourmoney"],
                                                            "pitches": ["guaranteed returns"]}


def test_patterns_match_the_text_as_written_and_normalised(db: Database) -> None:
    _bank(db, TextBankSpec("contact_off_app", "regex"), r"t\.me/\w+" + "\n" + r"\bwhats\s*app\b" + "\n" + r"\+?\d{2} ?\d{4,}")
    matcher = TextBankMatcher(db)
    assert matcher.matched("Write me at T.ME/joe or +44 7700900", app="dating", language=None) == {
        "contact_off_app": [r"\+?\d{2} ?\d{4,}", r"t\.me/\w+"]}
    # "wh4tsapp" reads "whatsapp" only once normalised.
    assert matcher.matched("on wh4tsapp", app="dating", language=None) == {"contact_off_app": [r"\bwhats\s*app\b"]}
    assert matcher.matched("nothing here", app="dating", language=None) == {}


def test_banks_apply_to_their_app_and_language(db: Database) -> None:
    _bank(db, TextBankSpec("everywhere", "keyword"), "pix")
    _bank(db, TextBankSpec("dating_pt", "keyword", "dating", "pt"), "pix\ngolpe")
    _bank(db, TextBankSpec("market_only", "keyword", "market"), "pix")
    matcher = TextBankMatcher(db)
    text = "manda o pix, não é golpe"
    assert matcher.matched(text, app="dating", language="pt-BR") == {"dating_pt": ["golpe", "pix"], "everywhere": ["pix"]}
    assert matcher.matched(text, app="dating", language="en") == {"everywhere": ["pix"]}
    assert matcher.matched(text, app="dating", language=None) == {"everywhere": ["pix"]}
    assert matcher.matched(text, app="market", language="pt") == {"everywhere": ["pix"], "market_only": ["pix"]}


def test_changes_are_seen_at_the_next_refresh_and_only_changed_banks_reload(db: Database) -> None:
    _bank(db, TextBankSpec("crypto_scam", "keyword"), "crypto")
    _bank(db, TextBankSpec("pitches", "phrase"), "send me")
    matcher = TextBankMatcher(db, max_age=3600)
    assert matcher.matched("crypto, send me", app="a", language=None) == {"crypto_scam": ["crypto"], "pitches": ["send me"]}
    assert matcher.refresh() == 0
    with db.session() as s:
        bank = bank_named(s, "crypto_scam")
        add_entries(s, ACTOR, bank, parse_lines("keyword", "usdt").entries, source="test")
        remove_entry(s, ACTOR, bank, "crypto")
    assert matcher.matched("crypto usdt", app="a", language=None) == {"crypto_scam": ["crypto"]}  # not refreshed yet
    assert matcher.refresh() == 1
    assert matcher.matched("crypto usdt", app="a", language=None) == {"crypto_scam": ["usdt"]}
    with db.session() as s:
        update_bank(s, ACTOR, bank_named(s, "pitches"), app=None, language=None, description="", active=False)
    assert matcher.refresh() == 0  # the bank left: nothing to compile
    assert matcher.matched("usdt, send me", app="a", language=None) == {"crypto_scam": ["usdt"]}
    # A matcher due for a refresh takes it before answering.
    fresh = TextBankMatcher(db, max_age=0)
    assert fresh.matched("usdt", app="a", language=None) == {"crypto_scam": ["usdt"]}
    with db.session() as s:
        remove_entry(s, ACTOR, bank_named(s, "crypto_scam"), "usdt")
    assert fresh.matched("usdt", app="a", language=None) == {}
