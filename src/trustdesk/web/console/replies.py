"""Console pages for replies: the Reply panel on the case page, and the reply templates admins write.

Thin: drafting, recording and sending are `trustdesk.replies`'. The panel is a fragment the case
page includes and htmx swaps when staff pick another channel, template or locale; without
scripts its picker is a plain GET form that shows the case page with that choice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from trustdesk.cases.access import visible_case
from trustdesk.domain.client_input import RowId
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.replies import LOCALES, PLACEHOLDERS, LocaleText, ReplyChannel, ReplyDelivery
from trustdesk.domain.roles import ADMINS, CASE_STAFF
from trustdesk.replies.case_replies import USER, ReplyUse, draft_reply, recipients, use_reply
from trustdesk.replies.templates import TemplateSpec, get_template, list_templates, save_template, texts_of
from trustdesk.store.models import MAX_BIGINT, Case
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)
CHANNELS = {ReplyChannel.EMAIL: "Email", ReplyChannel.APP_STORE: "App store review", ReplyChannel.SOCIAL: "Social media"}


def appeal_window(request: Request) -> timedelta:
    return timedelta(days=request.app.state.settings.appeal_window_days)


def reply_panel(
    request: Request, session: Session, who: StaffContext, case: Case, *, channel: str = "", template_id: int | None = None,
    locale: str = "", typed: dict[str, str] | None = None, error: str | None = None,
) -> dict[str, Any]:
    """What the Reply panel shows: the templates of the channel, the one picked filled from the case
    (in the subject's locale unless another is picked), or what staff typed when it comes back with an error."""
    templates = list_templates(session, active_only=True, channel=channel or None)
    chosen = next((t for t in templates if t.id == template_id), templates[0] if templates else None)
    draft = None
    if chosen is not None:
        try:
            draft = draft_reply(session, who.reviewer, case.id, chosen.id, locale if locale in texts_of(session, chosen.id) else None,
                                appeal_window(request))
        except NotFound:
            raise
        except FieldError as exc:  # a template that fails on this case's values: say so, and let the others be picked
            error = f"{chosen.name}: {exc}"
    return {"case": case, "channels": CHANNELS, "channel": channel, "templates": templates, "chosen": chosen, "draft": draft,
            "typed": typed or {}, "recipients": recipients(session, case), "error": error}


@router.get("/cases/{case_id}/reply")
def reply_fragment(
    request: Request, case_id: RowId, channel: str = Query("", max_length=16), template_id: int | None = Query(None, ge=1, le=MAX_BIGINT),
    locale: str = Query("", max_length=16), who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = Depends(read_session),
) -> HTMLResponse:
    """The Reply panel for another channel, template or locale (an htmx fragment)."""
    case = visible_case(session, who.reviewer, case_id)
    panel = reply_panel(request, session, who, case, channel=channel, template_id=template_id, locale=locale)
    return render(request, "_reply.html", {"who": who, "reply": panel})


@router.post("/cases/{case_id}/replies")
def use(
    request: Request, case_id: RowId, template_id: int = Form(..., ge=1, le=MAX_BIGINT), locale: str = Form("", max_length=16),
    subject: str = Form(""), body: str = Form(""), delivery: str = Form(ReplyDelivery.COPIED.value, max_length=16),
    recipient: str = Form(USER, max_length=40), who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = COMMITTED,
) -> Response:
    """Record the reply on the case as copied, or send it as a notice; back to the case, which lists it."""
    try:
        with session.begin_nested():
            use_reply(session, who.actor, who.reviewer, case_id, ReplyUse(template_id, locale, subject, body, delivery, recipient))
    except NotFound:
        raise
    except FieldError as exc:  # the page comes back with what was typed and the message
        case = visible_case(session, who.reviewer, case_id)
        typed = {"subject": subject, "body": body, "recipient": recipient}
        panel = reply_panel(request, session, who, case, template_id=template_id, locale=locale, typed=typed, error=str(exc))
        return render(request, "reply.html", {"who": who, "case": case, "reply": panel}, status_code=exc.status)
    return RedirectResponse(f"/cases/{case_id}?notice=reply-{delivery}#replies", status_code=303)


# --- reply templates (admins write, all staff read) -------------------------------------------


def _values(session: Session, template_id: int | None) -> dict[str, Any]:
    if template_id is None:
        return {"name": "", "channel": ReplyChannel.EMAIL.value, "tone": "", "active": True} | {
            f"{part}_{loc}": "" for loc in LOCALES for part in ("subject", "body")}
    template = get_template(session, template_id)
    texts = texts_of(session, template_id)
    values: dict[str, Any] = {"name": template.name, "channel": template.channel, "tone": template.tone, "active": template.active}
    for loc in LOCALES:
        values[f"subject_{loc}"] = texts[loc].subject if loc in texts else ""
        values[f"body_{loc}"] = texts[loc].body if loc in texts else ""
    return values


def _posted(form: FormData) -> dict[str, Any]:
    names = ["name", "channel", "tone"] + [f"{part}_{loc}" for loc in LOCALES for part in ("subject", "body")]
    return {name: str(form.get(name, "")).replace("\r\n", "\n") for name in names} | {"active": form.get("active") == "on"}


def _spec(values: dict[str, Any]) -> TemplateSpec:
    texts = [LocaleText(loc, values[f"subject_{loc}"], values[f"body_{loc}"]) for loc in LOCALES]
    return TemplateSpec(values["name"], values["channel"], values["tone"], values["active"], texts)


def _form(request: Request, who: StaffContext, template_id: int | None, values: dict[str, Any],
          error: FieldError | None = None) -> HTMLResponse:
    context = {"who": who, "template_id": template_id, "values": values, "error": error, "channels": CHANNELS,
               "locales": LOCALES, "placeholders": PLACEHOLDERS, "error_field": error.field if error else None}
    return render(request, "reply_template.html", context, status_code=error.status if error else 200)


@router.get("/reply-templates")
def template_list(request: Request, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> HTMLResponse:
    templates = list_templates(session)
    locales = {t.id: sorted(texts_of(session, t.id)) for t in templates}
    context = {"who": who, "templates": templates, "locales": locales, "channels": CHANNELS, "can_edit": who.has(*ADMINS),
               "placeholders": PLACEHOLDERS}
    return render(request, "reply_templates.html", context)


@router.get("/reply-templates/new")
def new_template(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session)) -> HTMLResponse:
    return _form(request, who, None, _values(session, None))


@router.get("/reply-templates/{template_id}")
def edit_template(
    request: Request, template_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> HTMLResponse:
    return _form(request, who, template_id, _values(session, template_id))


async def _save(request: Request, who: StaffContext, session: Session, template_id: int | None) -> Response:
    values = _posted(await request.form())
    try:
        with session.begin_nested():
            saved = save_template(session, who.actor, _spec(values), template_id)
    except NotFound:
        raise
    except FieldError as exc:  # refused, nothing saved: the form comes back as typed
        return _form(request, who, template_id, values, exc)
    return RedirectResponse(f"/reply-templates#template-{saved.id}", status_code=303)


@router.post("/reply-templates/new")
async def create_template(request: Request, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> Response:
    """Create a template; one whose text does not render is refused, naming the field."""
    return await _save(request, who, session, None)


@router.post("/reply-templates/{template_id}")
async def update_template(
    request: Request, template_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> Response:
    """Save a template's edits (unticking "active" deactivates it: no longer offered on cases)."""
    return await _save(request, who, session, template_id)
