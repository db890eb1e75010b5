"""Canned rationales per policy: admins keep them on the policy page and through the API (audited),
everyone reads them, and the decision panel offers them as one-click fills of the rationale."""

from __future__ import annotations

import html

from sqlalchemy import select

from tests.web.office import Office
from trustdesk.store.models import AuditEvent, CannedRationale


def _verbs(office: Office) -> list[str]:
    with office.api.db.reader() as s:
        return list(s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "canned_rationale").order_by(AuditEvent.id)).scalars())


def test_an_admin_keeps_canned_rationales_on_the_policy_page_and_each_change_is_audited(office: Office) -> None:
    csrf = office.log_in("root")
    client = office.api.client
    added = client.post("/policies/SPAM/rationales", data={"csrf_token": csrf, "text": "Bulk promotional links posted repeatedly.", "position": "20"},
                        follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].startswith("/policies/SPAM?rationale=added")
    client.post("/policies/SPAM/rationales", data={"csrf_token": csrf, "text": "Fake engagement offered for sale.", "position": "10"})
    with office.api.db.reader() as s:
        rows = {r.text: r.id for r in s.execute(select(CannedRationale)).scalars()}
    page = client.get("/policies/SPAM")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    assert shown.index("Fake engagement offered for sale.") < shown.index("Bulk promotional links posted repeatedly.")

    first = rows["Bulk promotional links posted repeatedly."]
    saved = client.post(f"/policies/SPAM/rationales/{first}", data={"csrf_token": csrf, "text": "Bulk promotional links, posted again and again.",
                                                                     "position": "5"}, follow_redirects=False)
    assert saved.status_code == 303
    empty = client.post(f"/policies/SPAM/rationales/{first}", data={"csrf_token": csrf, "text": "  ", "position": "5"})
    assert empty.status_code == 422 and 'data-testid="rationale-error"' in empty.text and "text: write the rationale" in empty.text
    elsewhere = client.post(f"/policies/SCAM/rationales/{first}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert elsewhere.status_code == 404  # a rationale is removed under its own policy only
    removed = client.post(f"/policies/SPAM/rationales/{first}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert removed.status_code == 303
    with office.api.db.reader() as s:
        assert [r.text for r in s.execute(select(CannedRationale)).scalars()] == ["Fake engagement offered for sale."]
    assert _verbs(office) == ["canned_rationale.added", "canned_rationale.added", "canned_rationale.edited", "canned_rationale.removed"]


def test_a_moderator_reads_them_but_may_not_change_them(office: Office) -> None:
    assert office.call("root", "POST", "/api/v1/policies/SPAM/rationales", {"text": "Spam links."}).status_code == 201
    csrf = office.log_in("mia")
    page = office.api.client.get("/policies/SPAM")
    assert page.status_code == 200 and "Spam links." in page.text and 'data-testid="add-rationale"' not in page.text
    refused = office.api.client.post("/policies/SPAM/rationales", data={"csrf_token": csrf, "text": "mine"})
    assert refused.status_code == 403
    assert office.call("mia", "POST", "/api/v1/policies/SPAM/rationales", {"text": "mine"}).status_code == 403
    listed = office.call("mia", "GET", "/api/v1/policies/SPAM/rationales")
    assert listed.status_code == 200 and [r["text"] for r in listed.json()] == ["Spam links."]


def test_the_api_adds_edits_and_removes_them_and_names_the_field_at_fault(office: Office) -> None:
    created = office.call("root", "POST", "/api/v1/policies/SPAM/rationales", {"text": "Repeated links.", "position": 3})
    assert created.status_code == 201, created.text
    rationale = created.json()
    assert rationale["policy_code"] == "SPAM" and rationale["position"] == 3
    edited = office.call("root", "PUT", f"/api/v1/rationales/{rationale['id']}", {"text": "Repeated links to a shop.", "position": 1})
    assert edited.status_code == 200 and edited.json()["text"] == "Repeated links to a shop."
    blank = office.call("root", "PUT", f"/api/v1/rationales/{rationale['id']}", {"text": "   "})
    assert blank.status_code == 422 and blank.json()["field"] == "text"
    unknown = office.call("root", "POST", "/api/v1/policies/NOPE/rationales", {"text": "x"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "code"
    assert office.call("root", "DELETE", f"/api/v1/rationales/{rationale['id']}").status_code == 204
    assert office.call("root", "DELETE", f"/api/v1/rationales/{rationale['id']}").status_code == 404
    assert _verbs(office) == ["canned_rationale.added", "canned_rationale.edited", "canned_rationale.removed"]


def test_the_decision_panel_offers_the_policys_canned_rationales_as_fills_of_the_rationale(office: Office) -> None:
    office.call("root", "POST", "/api/v1/policies/SPAM/rationales", {"text": "Posts the same \"offer\" link <again>."})
    office.call("root", "POST", "/api/v1/policies/SCAM/rationales", {"text": "Asks for payment off-platform."})
    office.report("post-1")
    case_id = office.take("mia")
    office.log_in("mia")
    panel = office.api.client.get(f"/cases/{case_id}/decision", params=[("policy_code", "SPAM"), ("answers", "0"), ("answers", "0")])
    assert panel.status_code == 200
    assert 'data-testid="canned-rationales"' in panel.text
    assert 'data-fill="rationale" data-text="Posts the same &#34;offer&#34; link &lt;again&gt;."' in panel.text
    assert "Asks for payment off-platform." not in panel.text  # another policy's
    assert '<textarea name="rationale"' in panel.text
    script = office.api.client.get("/static/review.js").text
    assert "[data-fill]" in script  # the buttons fill the box in the browser
