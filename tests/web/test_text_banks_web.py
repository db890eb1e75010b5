"""Text banks over the API and in the console: admins create banks and add and remove entries,
bad input is refused naming the field (422 JSON, or the page with the message), and a moderator
may do none of it (403)."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.office import Office
from trustdesk.store.models import AuditEvent
from trustdesk.text_banks.matcher import TextBankMatcher

BANKS = "/api/v1/text-banks"


def test_admins_keep_banks_over_the_api_and_bad_input_names_its_field(office: Office) -> None:
    created = office.call("root", "POST", BANKS, {"name": "crypto_scam", "kind": "keyword", "app": "dating", "language": "pt"})
    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in ("name", "kind", "app", "language", "active", "entries")} == {
        "name": "crypto_scam", "kind": "keyword", "app": "dating", "language": "pt", "active": True, "entries": 0}
    again = office.call("root", "POST", BANKS, {"name": "crypto_scam", "kind": "phrase"})
    assert (again.status_code, again.json()["field"]) == (409, "name")
    for body, field in (({"name": "Crypto Scam", "kind": "keyword"}, "name"), ({"name": "x", "kind": "hash"}, "kind"),
                        ({"name": "x", "kind": "keyword", "app": "nowhere"}, "app"),
                        ({"name": "x", "kind": "keyword", "language": "pt-BR"}, "language")):
        refused = office.call("root", "POST", BANKS, body)
        assert refused.status_code in (404, 422) and refused.json()["field"] == field, refused.text

    added = office.call("root", "POST", f"{BANKS}/crypto_scam/entries", {"entries": [{"value": "Bitcoin", "note": "seen"}, {"value": "usdt"}]})
    assert (added.status_code, added.json()) == (200, {"added": 2, "already_there": 0})
    added = office.call("root", "POST", f"{BANKS}/crypto_scam/entries", {"entries": [{"value": "bitcoin"}, {"value": "pix"}]})
    assert (added.status_code, added.json()) == (200, {"added": 1, "already_there": 1})
    bad = office.call("root", "POST", f"{BANKS}/crypto_scam/entries", {"entries": [{"value": "ok"}, {"value": "send me"}]})
    assert (bad.status_code, bad.json()["field"]) == (422, "entries[1].value")
    assert "a keyword is one word" in bad.json()["detail"]
    assert office.call("root", "POST", f"{BANKS}/nope/entries", {"entries": [{"value": "x"}]}).status_code == 404

    removed = office.api.client.delete(f"{BANKS}/crypto_scam/entries", params={"value": "PIX"},
                                       headers={"Authorization": f"Bearer {office.tokens['root']}"})
    assert (removed.status_code, removed.json()["value"]) == (200, "pix")
    gone = office.api.client.delete(f"{BANKS}/crypto_scam/entries", params={"value": "pix"},
                                    headers={"Authorization": f"Bearer {office.tokens['root']}"})
    assert (gone.status_code, gone.json()["field"]) == (404, "value")

    bank = office.call("root", "GET", f"{BANKS}/crypto_scam")
    assert bank.status_code == 200
    assert [(e["value"], e["note"]) for e in bank.json()["values"]] == [("bitcoin", "seen"), ("usdt", "")]
    edited = office.call("root", "PATCH", f"{BANKS}/crypto_scam", {"app": None, "language": None})
    assert edited.status_code == 200 and (edited.json()["app"], edited.json()["language"], edited.json()["active"]) == (None, None, True)
    listed = office.call("root", "GET", BANKS)
    assert listed.status_code == 200 and [(b["name"], b["entries"]) for b in listed.json()] == [("crypto_scam", 2)]
    assert TextBankMatcher(office.api.db).matched("want bitcoins?", app="market", language=None) == {}
    assert TextBankMatcher(office.api.db).matched("want b1tcoin?", app="market", language=None) == {"crypto_scam": ["bitcoin"]}

    for method, path, body in (("GET", BANKS, None), ("POST", BANKS, {"name": "mine", "kind": "keyword"}),
                               ("GET", f"{BANKS}/crypto_scam", None), ("PATCH", f"{BANKS}/crypto_scam", {"active": False}),
                               ("POST", f"{BANKS}/crypto_scam/entries", {"entries": [{"value": "eth"}]})):
        assert office.call("mia", method, path, body).status_code == 403, (method, path)
    with office.api.db.reader() as s:
        verbs = s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "text_bank").order_by(AuditEvent.id)).scalars().all()
    assert verbs == ["text_bank.created", "text_bank.entries_added", "text_bank.entries_added", "text_bank.entry_removed",
                     "text_bank.edited"]


def test_admins_keep_banks_in_the_console_and_see_what_was_wrong(office: Office) -> None:
    csrf = office.log_in("mia")
    assert office.api.client.get("/text-banks").status_code == 403
    assert office.api.client.post("/text-banks", data={"csrf_token": csrf, "name": "x", "kind": "keyword"}).status_code == 403

    csrf = office.log_in("root")
    page = office.api.client.get("/text-banks")
    assert page.status_code == 200 and 'data-testid="create-form"' in page.text and "None yet." in page.text
    refused = office.api.client.post("/text-banks", data={"csrf_token": csrf, "name": "Links!", "kind": "regex"})
    assert refused.status_code == 422 and "name: a lower-case letter" in refused.text and 'value="Links!"' in refused.text
    created = office.api.client.post("/text-banks", data={"csrf_token": csrf, "name": "links", "kind": "regex", "app": "dating",
                                                          "language": "", "description": "off-app contact"}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/text-banks/links?notice=created"
    assert office.api.client.post("/text-banks", data={"csrf_token": csrf, "name": "links", "kind": "keyword"}).status_code == 409

    bad = office.api.client.post("/text-banks/links/entries", data={"csrf_token": csrf, "lines": "t\\.me/\\w+\n(a)\\1\n"})
    assert bad.status_code == 422 and "line 2: RE2 refuses" in bad.text and "t\\.me/\\w+\n(a)\\1" in bad.text
    added = office.api.client.post("/text-banks/links/entries", data={"csrf_token": csrf, "lines": "t\\.me/\\w+\nwa\\.me/\\d+\n"},
                                   follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/text-banks/links?added=2&already=0"
    shown = office.api.client.get(added.headers["location"])
    assert shown.status_code == 200 and "2 added, 0 already there." in shown.text and "<code>wa\\.me/\\d+</code>" in shown.text

    removed = office.api.client.post("/text-banks/links/remove", data={"csrf_token": csrf, "value": "wa\\.me/\\d+"}, follow_redirects=False)
    assert removed.status_code == 303 and removed.headers["location"] == "/text-banks/links?notice=removed"
    again = office.api.client.post("/text-banks/links/remove", data={"csrf_token": csrf, "value": "wa\\.me/\\d+"})
    assert again.status_code == 404 and "is not in text bank" in again.text
    assert office.api.client.get("/text-banks/nope").status_code == 404
    row = office.api.client.get("/text-banks").text.split("/text-banks/links")[1].split("</tr>")[0]
    assert "<td>regex</td><td>dating</td><td>every language</td>" in row and "<td>1</td>" in row
