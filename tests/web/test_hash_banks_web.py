"""Hash banks in the console: enforcers add a decided case's media to a bank (its MD5, SHA-256
and PDQ, so a turned copy matches), others may not, a hidden case is not found, and admins see
every bank with its counts, threshold and action."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from tests.web.office import SETUP, Office
from trustdesk.analysis.hashing.pdq import open_image
from trustdesk.demo.images import render_photo
from trustdesk.domain.hash_banks import BankSpec
from trustdesk.hash_banks.banks import create_bank
from trustdesk.hash_banks.matcher import BankMatcher, media_hashes
from trustdesk.store.models import AuditEvent, BankHash

PHOTO = render_photo(11)


def _case_with_photo(office: Office, external_id: str, policy_code: str = "SPAM") -> int:
    office.report(external_id, policy_code)
    uploaded = office.api.client.post(f"/api/v1/subjects/{external_id}/media", files={"file": ("p.jpg", PHOTO, "image/jpeg")},
                                      headers=office.api.auth)
    assert uploaded.status_code in (200, 201), uploaded.text
    return office.take("cara" if policy_code == "CSAM" else "mia")


def _decide(office: Office, who: str, case_id: int, policy_code: str = "SPAM") -> None:
    decided = office.call(who, "POST", f"/api/v1/cases/{case_id}/decision", {
        "policy_code": policy_code, "verdict": "violation", "actions": ["remove"], "rationale": "known scam picture"})
    assert decided.status_code == 201, decided.text


def test_an_enforcer_adds_a_decided_cases_media_and_a_turned_copy_then_matches(office: Office) -> None:
    with office.api.db.session() as s:
        bank_id = create_bank(s, SETUP, BankSpec("scam photos", "scam", policy_code="SCAM", action="remove")).id
    case_id = _case_with_photo(office, "post-1")
    csrf = office.log_in("sue")
    assert office.api.client.post(f"/cases/{case_id}/add-to-bank", data={"csrf_token": csrf, "bank_id": str(bank_id)}).status_code == 409
    _decide(office, "mia", case_id)

    csrf = office.log_in("mia")  # a moderator sees no form and may not add
    assert 'data-testid="add-to-bank-form"' not in office.api.client.get(f"/cases/{case_id}").text
    assert office.api.client.post(f"/cases/{case_id}/add-to-bank", data={"csrf_token": csrf, "bank_id": str(bank_id)}).status_code == 403
    assert office.api.client.get("/hash-banks").status_code == 403

    csrf = office.log_in("sue")
    page = office.api.client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'data-testid="add-to-bank-form"' in page.text and "scam photos (scam)" in page.text
    added = office.api.client.post(f"/cases/{case_id}/add-to-bank", data={"csrf_token": csrf, "bank_id": str(bank_id)},
                                   follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == f"/cases/{case_id}?notice=added-to-bank"
    assert "Added to the hash bank" in office.api.client.get(added.headers["location"]).text
    missing = office.api.client.post(f"/cases/{case_id}/add-to-bank", data={"csrf_token": csrf, "bank_id": "999999"})
    assert missing.status_code == 404 and "no hash bank 999999" in missing.text
    with office.api.db.reader() as s:
        assert sorted(s.execute(select(BankHash.algorithm)).scalars()) == ["md5", "pdq", "sha256"]
        event = s.execute(select(AuditEvent).where(AuditEvent.verb == "hash_bank.hashes_added")).scalar_one()
        assert event.actor_id == "sue" and event.after["source"] == f"case:{case_id}"

    turned = io.BytesIO()
    open_image(PHOTO).transpose(Image.Transpose.ROTATE_270).save(turned, format="PNG")
    found = BankMatcher(office.api.db).match(media_hashes(turned.getvalue()))
    assert [(m.bank, m.algorithm, m.action) for m in found] == [("scam photos", "pdq", "remove")]

    office.log_in("root")
    banks = office.api.client.get("/hash-banks")
    assert banks.status_code == 200
    row = banks.text.split(f'id="bank-{bank_id}"')[1].split("</tr>")[0]
    assert "<td>1</td><td>1</td><td>1</td>" in row and "≤ 31 bits" in row and "remove under SCAM" in row


def test_a_case_hidden_from_the_enforcer_is_not_found(office: Office) -> None:
    with office.api.db.session() as s:
        bank_id = create_bank(s, SETUP, BankSpec("csam", "csam")).id
    case_id = _case_with_photo(office, "photo-cs", "CSAM")
    _decide(office, "cara", case_id, "CSAM")
    csrf = office.log_in("sue")
    hidden = office.api.client.post(f"/cases/{case_id}/add-to-bank", data={"csrf_token": csrf, "bank_id": str(bank_id)})
    assert hidden.status_code == 404 and "scam" not in hidden.text
    with office.api.db.reader() as s:
        assert s.execute(select(BankHash)).first() is None
