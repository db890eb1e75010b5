"""Reply templates on the case page: filled from the case in the subject's language, edited,
then copied or sent (each use recorded on the case and audited); templates that do not render
are refused at save time naming `body`; a case hidden from someone is hidden with its replies."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from tests.web.office import SETUP, Office
from trustdesk.domain.replies import PLACEHOLDERS
from trustdesk.domain.vocabulary import NoticeKind
from trustdesk.replies.case_replies import reply_context
from trustdesk.replies.templates import seed_reply_templates
from trustdesk.store.models import AuditEvent, Case, CaseReply, Decision, Notice, ReplyTemplate


def _seeded(office: Office) -> dict[str, int]:
    with office.api.db.session() as s:
        assert seed_reply_templates(s, SETUP) == 4
    with office.api.db.reader() as s:
        return {t.name: t.id for t in s.execute(select(ReplyTemplate)).scalars()}


def _decided_case(office: Office, external_id: str = "post-1", locale: str | None = "pt-BR") -> int:
    """Mia takes the case on a reported post and removes it with a strike."""
    office.report(external_id, locale=locale)
    case_id = office.take("mia")
    decided = office.call("mia", "POST", f"/api/v1/cases/{case_id}/decision", {
        "policy_code": "SPAM", "verdict": "violation", "actions": ["remove", "strike"], "rationale": "the same link again"})
    assert decided.status_code == 201, decided.text
    return case_id


def _panel(page: str) -> str:
    found = re.search(r'<section class="card reply-panel".*?</section>', page, re.S)
    assert found, "no Reply panel on the page"
    return html.unescape(found.group(0))


def test_the_reply_panel_fills_a_template_from_the_case_in_the_subjects_language(office: Office) -> None:
    templates = _seeded(office)
    case_id = _decided_case(office)
    office.log_in("mia")
    page = office.api.client.get(f"/cases/{case_id}", params={"template_id": templates["Content removed (email)"]})
    assert page.status_code == 200
    panel = _panel(page.text)
    with office.api.db.reader() as s:
        decided_on = s.execute(select(Decision.created_at).where(Decision.case_id == case_id)).scalar_one().date()
        context = reply_context(s, s.get_one(Case, case_id), "pt", timedelta(days=183))
    assert context.keys() == PLACEHOLDERS.keys()  # every documented placeholder, and nothing else
    assert context["appeal_window_end"] == (decided_on + timedelta(days=183)).isoformat()
    # pt-BR falls back to the Portuguese text; placeholders are the case's, the policy's and the decision's
    assert "Sobre o seu post no Dating" in panel and f"Referência: caso {case_id}" in panel
    assert "(post-1)" in panel and "Spam" in panel and f"Em {decided_on.isoformat()} tomamos esta medida: remove, strike" in panel
    assert "Tone:" in panel and "may be upset" in panel
    for secret in ("Rita Reporter", "rita@example.org", "owner-post-1"):  # the reporter, and the account's own id
        assert secret not in panel
    english = _panel(office.api.client.get(f"/cases/{case_id}/reply", params={
        "template_id": templates["Content removed (email)"], "locale": "en"}).text)
    assert "About your post on Dating" in english and "you can appeal until" in english
    social = _panel(office.api.client.get(f"/cases/{case_id}/reply", params={"channel": "social"}).text)
    assert "Move to private messages (social)" in social and "Content removed (email)" not in social
    assert 'name="subject"' not in social  # only email has a subject line


def test_a_copied_reply_is_recorded_with_its_final_text_audited_and_listed(office: Office) -> None:
    templates = _seeded(office)
    case_id = _decided_case(office, locale=None)
    csrf = office.log_in("mia")
    form = {"csrf_token": csrf, "template_id": str(templates["Content removed (email)"]), "locale": "en",
            "subject": "About your post", "body": "Hello,\r\nedited by hand.", "delivery": "copied"}
    used = office.api.client.post(f"/cases/{case_id}/replies", data=form, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == f"/cases/{case_id}?notice=reply-copied#replies"
    with office.api.db.reader() as s:
        reply = s.execute(select(CaseReply)).scalar_one()
        assert (reply.case_id, reply.channel, reply.locale, reply.delivery) == (case_id, "email", "en", "copied")
        assert (reply.subject, reply.body, reply.sent_by, reply.notice_id) == ("About your post", "Hello,\nedited by hand.", office.users["mia"], None)
        audit = s.execute(select(AuditEvent).where(AuditEvent.verb == "case.reply_copied")).scalar_one()
        assert audit.object_id == str(case_id) and audit.after["reply_id"] == reply.id
    page = office.api.client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'data-testid="reply-row"' in page.text and "edited by hand." in page.text

    two_lines = office.api.client.post(f"/cases/{case_id}/replies", data=form | {"subject": "About\r\nyour post"})
    assert two_lines.status_code == 422 and "a subject line is one line" in html.unescape(two_lines.text)
    empty = office.api.client.post(f"/cases/{case_id}/replies", data=form | {"body": "  "})
    assert empty.status_code == 422 and 'data-testid="reply-error"' in empty.text and "body: the reply is empty" in empty.text


def test_a_sent_reply_becomes_a_notice_of_kind_reply_to_the_chosen_person(office: Office) -> None:
    templates = _seeded(office)
    case_id = _decided_case(office, locale=None)
    csrf = office.log_in("mia")
    form = {"csrf_token": csrf, "template_id": str(templates["Report reviewed (email)"]), "locale": "en",
            "subject": "We reviewed your report", "body": "Thank you for telling us.", "delivery": "sent"}
    page = office.api.client.get(f"/cases/{case_id}").text
    notifier = re.search(r'<option value="(report:\d+)"', page)
    assert notifier, "the report's notifier is offered as a recipient"
    sent = office.api.client.post(f"/cases/{case_id}/replies", data=form | {"recipient": notifier.group(1)}, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    with office.api.db.reader() as s:
        reply = s.execute(select(CaseReply)).scalar_one()
        notice = s.get_one(Notice, reply.notice_id)
        assert (notice.kind, notice.recipient_role, notice.case_id) == (NoticeKind.REPLY.value, "notifier", case_id)
        assert (notice.subject_line, notice.body.strip(), notice.locale) == ("We reviewed your report", "Thank you for telling us.", "en")
        assert reply.delivery == "sent"
        verbs = set(s.execute(select(AuditEvent.verb)).scalars())
        assert {"case.reply_sent", "notice.queued"} <= verbs
    stranger = office.api.client.post(f"/cases/{case_id}/replies", data=form | {"recipient": "report:999999"})
    assert stranger.status_code == 422 and "recipient:" in stranger.text


def test_a_moderator_cannot_reply_on_a_case_in_a_queue_they_may_not_see(office: Office) -> None:
    templates = _seeded(office)
    office.report("photo-cs", "CSAM", kind="photo")
    case_id = office.take("cara")
    template_id = templates["Content removed (email)"]
    csrf = office.log_in("mia")
    assert office.api.client.get(f"/cases/{case_id}/reply").status_code == 404
    refused = office.api.client.post(f"/cases/{case_id}/replies", data={
        "csrf_token": csrf, "template_id": str(template_id), "locale": "en", "subject": "s", "body": "b", "delivery": "copied"})
    assert refused.status_code == 404
    office.log_in("cara")
    admitted = office.api.client.get(f"/cases/{case_id}/reply", params={"template_id": template_id})
    assert admitted.status_code == 200 and "About your photo" in html.unescape(admitted.text)
    with office.api.db.reader() as s:
        assert s.execute(select(CaseReply)).first() is None


def test_a_template_that_does_not_render_is_refused_at_save_time_naming_body(office: Office) -> None:
    csrf = office.log_in("root")
    form = {"csrf_token": csrf, "name": "Checked", "channel": "email", "tone": "calm", "active": "on",
            "subject_en": "Case {{ case_id }}", "body_en": "Reported by {{ reporter_name }}"}
    unknown = office.api.client.post("/reply-templates/new", data=form)
    assert unknown.status_code == 422 and 'data-field="body"' in unknown.text and "reporter_name" in html.unescape(unknown.text)
    assert "Reported by {{ reporter_name }}" in html.unescape(unknown.text)  # the admin's text is kept
    broken = office.api.client.post("/reply-templates/new", data=form | {"body_en": "Hello {% if %}"})
    assert broken.status_code == 422 and 'data-field="body"' in broken.text
    unsafe = office.api.client.post("/reply-templates/new", data=form | {"subject_pt": "Caso", "body_pt": "{{ case_id.__class__ }}", "body_en": "ok"})
    assert unsafe.status_code == 422 and 'data-field="body"' in unsafe.text and "(pt)" in unsafe.text
    with office.api.db.reader() as s:
        assert s.execute(select(ReplyTemplate)).first() is None
    saved = office.api.client.post("/reply-templates/new", data=form | {"body_en": "Case {{ case_id }} on {{ app_name }}."},
                                   follow_redirects=False)
    assert saved.status_code == 303
    with office.api.db.reader() as s:
        assert s.execute(select(AuditEvent.verb).where(AuditEvent.object_type == "reply_template")).scalars().all() == ["reply_template.created"]


def test_admins_list_edit_and_deactivate_templates_and_an_inactive_one_is_no_longer_offered(office: Office) -> None:
    templates = _seeded(office)
    csrf = office.log_in("root")
    listing = office.api.client.get("/reply-templates")
    assert listing.status_code == 200 and "Move to private messages (social)" in listing.text and "case_id" in listing.text
    assert '<a href="/reply-templates">Reply templates</a>' in listing.text  # in the admin's nav
    social = templates["Move to private messages (social)"]
    form = office.api.client.get(f"/reply-templates/{social}")
    assert form.status_code == 200 and "Obrigado pelo contato" in html.unescape(form.text)
    assert office.api.client.get("/reply-templates/new").status_code == 200
    saved = office.api.client.post(f"/reply-templates/{social}", data={
        "csrf_token": csrf, "name": "Move to private messages (social)", "channel": "social", "tone": "warm",
        "body_en": "Please send us a direct message with case {{ case_id }}."}, follow_redirects=False)  # `active` unticked
    assert saved.status_code == 303
    with office.api.db.reader() as s:
        assert not s.get_one(ReplyTemplate, social).active
    case_id = _decided_case(office, locale=None)
    office.log_in("mia")
    assert "Move to private messages" not in office.api.client.get(f"/cases/{case_id}/reply", params={"channel": "social"}).text
    assert office.api.client.get("/reply-templates/new").status_code == 403


def test_staff_tokens_write_templates_draft_use_and_read_replies_through_the_api(office: Office) -> None:
    bad = office.call("root", "POST", "/api/v1/reply-templates", {
        "name": "Checked", "channel": "email", "texts": [{"locale": "en", "subject": "Hi", "body": "By {{ reviewer_name }}"}]})
    assert bad.status_code == 422 and bad.json()["field"] == "body"
    assert office.call("mia", "POST", "/api/v1/reply-templates", {
        "name": "Mine", "channel": "social", "texts": [{"locale": "en", "body": "hi"}]}).status_code == 403
    created = office.call("root", "POST", "/api/v1/reply-templates", {
        "name": "Checked", "channel": "app_store", "tone": "short", "texts": [
            {"locale": "en", "body": "Case {{ case_id }}: {{ decision_verdict }}."}, {"locale": "es", "body": "Caso {{ case_id }}."}]})
    assert created.status_code == 201, created.text
    template = created.json()
    case_id = _decided_case(office, locale="es-MX")
    draft = office.call("mia", "GET", f"/api/v1/cases/{case_id}/reply-draft?template_id={template['id']}")
    assert draft.status_code == 200 and draft.json() | {"locales": None} == {
        "template_id": template["id"], "locale": "es", "locales": None, "tone": "short", "subject": "", "body": f"Caso {case_id}."}
    english = office.call("mia", "GET", f"/api/v1/cases/{case_id}/reply-draft?template_id={template['id']}&locale=en").json()
    assert english["body"] == f"Case {case_id}: violation."
    used = office.call("mia", "POST", f"/api/v1/cases/{case_id}/replies", {
        "template_id": template["id"], "locale": "es", "body": "Caso revisado.", "delivery": "copied"})
    assert used.status_code == 201 and used.json()["delivery"] == "copied" and used.json()["channel"] == "app_store"
    listed = office.call("sue", "GET", f"/api/v1/cases/{case_id}/replies")
    assert listed.status_code == 200 and [r["body"] for r in listed.json()] == ["Caso revisado."]
    off = office.call("root", "PUT", f"/api/v1/reply-templates/{template['id']}", {
        "name": "Checked", "channel": "app_store", "active": False, "texts": [{"locale": "en", "body": "Case {{ case_id }}."}]})
    assert off.status_code == 200 and off.json()["active"] is False and [t["locale"] for t in off.json()["texts"]] == ["en"]
    assert office.call("mia", "GET", f"/api/v1/cases/{case_id}/reply-draft?template_id={template['id']}").status_code == 404
    stale = office.call("mia", "POST", f"/api/v1/cases/{case_id}/replies", {
        "template_id": template["id"], "locale": "en", "body": "Case reviewed.", "delivery": "copied"})
    assert stale.status_code == 422 and stale.json()["field"] == "template_id"


def test_a_template_that_fails_on_one_cases_values_is_reported_in_the_panel_not_as_a_broken_page(office: Office) -> None:
    case_id = _decided_case(office, locale=None)
    odd = office.call("root", "POST", "/api/v1/reply-templates", {
        "name": "Odd", "channel": "social", "texts": [{"locale": "en", "body": "{{ 1 // (case_id - " + str(case_id) + ") }}"}]})
    assert odd.status_code == 201, odd.text  # it renders on the sample case
    office.log_in("mia")
    page = office.api.client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    panel = _panel(page.text)
    assert "Odd: body: does not render: ZeroDivisionError" in panel and '<option value="' in panel
