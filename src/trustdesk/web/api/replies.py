"""Reply templates and their use on cases, for staff tokens. The rules are `trustdesk.replies`':
templates render in a sandbox over a documented set of placeholders and are refused at save
time, naming `body` or `subject`, if they do not; a case hidden from the caller is a 404."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.replies import LOCALES, MAX_BODY, MAX_NAME, MAX_SUBJECT, MAX_TONE, PLACEHOLDERS, LocaleText, ReplyChannel, ReplyDelivery
from trustdesk.domain.roles import ADMINS, CASE_STAFF
from trustdesk.replies.case_replies import USER, ReplyUse, draft_reply, replies_on, use_reply
from trustdesk.replies.templates import TemplateSpec, list_templates, save_template, texts_of
from trustdesk.store.models import MAX_BIGINT, CaseReply, ReplyTemplate
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = api_router("replies")
_PLACEHOLDERS = "; ".join(f"`{name}`: {meaning}" for name, meaning in PLACEHOLDERS.items())


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locale: str = Field(description=f"One of {', '.join(LOCALES)}; `en` is required.", max_length=16)
    subject: str = Field(default="", max_length=MAX_SUBJECT, description="Email only: the subject line (a template too).")
    body: str = Field(max_length=MAX_BODY, description=f"Sandboxed Jinja over these placeholders only: {_PLACEHOLDERS}")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    channel: ReplyChannel
    tone: str = Field(default="", max_length=MAX_TONE, description="How to say it: shown to staff beside the text, never sent.")
    active: bool = Field(default=True, description="False deactivates it: no longer offered on cases.")
    texts: list[TextIn] = Field(min_length=1, max_length=len(LOCALES))

    def spec(self) -> TemplateSpec:
        return TemplateSpec(self.name, self.channel.value, self.tone, self.active,
                            [LocaleText(t.locale, t.subject, t.body) for t in self.texts])


class TextOut(BaseModel):
    locale: str
    subject: str
    body: str


class TemplateOut(BaseModel):
    id: int
    name: str
    channel: str
    tone: str
    active: bool
    texts: list[TextOut]
    updated_at: datetime

    @classmethod
    def of(cls, session: Session, t: ReplyTemplate) -> "TemplateOut":
        texts = [TextOut(locale=x.locale, subject=x.subject, body=x.body) for x in texts_of(session, t.id).values()]
        return cls(id=t.id, name=t.name, channel=t.channel, tone=t.tone, active=t.active, texts=texts, updated_at=t.updated_at)


class DraftOut(BaseModel):
    template_id: int
    locale: str = Field(description="The locale filled: the one asked for, else the closest to the subject's, else en.")
    locales: list[str]
    tone: str
    subject: str
    body: str


class UseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: int = Field(ge=1, le=MAX_BIGINT)
    locale: str = Field(max_length=16)
    subject: str = Field(default="", max_length=MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=MAX_BODY, description="The final text, as staff edited it.")
    delivery: ReplyDelivery = Field(description="`copied`: staff paste it themselves; `sent`: queued as a notice of kind `reply`.")
    recipient: str = Field(default=USER, max_length=40, description="For `sent`: `user` (the account concerned) or `report:<id>` (that report's notifier).")


class ReplyOut(BaseModel):
    id: int
    case_id: int
    template_id: int
    channel: str
    locale: str
    subject: str
    body: str
    delivery: str
    notice_id: int | None
    sent_by: int
    created_at: datetime

    @classmethod
    def of(cls, r: CaseReply) -> "ReplyOut":
        return cls(**{name: getattr(r, name) for name in cls.model_fields})


def _window(request: Request) -> timedelta:
    return timedelta(days=request.app.state.settings.appeal_window_days)


@router.get("/reply-templates", response_model=list[TemplateOut])
def templates(who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> list[TemplateOut]:
    """Every reply template with its texts per locale, by channel and name."""
    return [TemplateOut.of(session, t) for t in list_templates(session)]


@router.post("/reply-templates", response_model=TemplateOut, status_code=201)
def create_template(body: TemplateIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> TemplateOut:
    """Create a template (audited); a text that does not render is refused, naming `body` or `subject`."""
    return TemplateOut.of(session, save_template(session, who.actor, body.spec()))


@router.put("/reply-templates/{template_id}", response_model=TemplateOut)
def edit_template(template_id: RowId, body: TemplateIn, who: StaffContext = Depends(staff_with(*ADMINS)),
                  session: Session = COMMITTED) -> TemplateOut:
    """Replace a template's fields and texts (audited); `active: false` deactivates it."""
    return TemplateOut.of(session, save_template(session, who.actor, body.spec(), template_id))


@router.get("/cases/{case_id}/reply-draft", response_model=DraftOut)
def reply_draft(
    request: Request, case_id: RowId, template_id: int = Query(ge=1, le=MAX_BIGINT), locale: str = Query("", max_length=16),
    who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = Depends(read_session),
) -> DraftOut:
    """The template filled from the case, to edit before using it."""
    d = draft_reply(session, who.reviewer, case_id, template_id, locale or None, _window(request))
    return DraftOut(template_id=d.template.id, locale=d.locale, locales=d.locales, tone=d.template.tone, subject=d.subject, body=d.body)


@router.post("/cases/{case_id}/replies", response_model=ReplyOut, status_code=201)
def use(case_id: RowId, body: UseIn, who: StaffContext = Depends(staff_with(*CASE_STAFF)), session: Session = COMMITTED) -> ReplyOut:
    """Record a reply used on the case (audited): copied, or sent as a notice in the same transaction."""
    return ReplyOut.of(use_reply(session, who.actor, who.reviewer, case_id, ReplyUse(
        body.template_id, body.locale, body.subject, body.body, body.delivery.value, body.recipient)))


@router.get("/cases/{case_id}/replies", response_model=list[ReplyOut])
def case_replies(case_id: RowId, who: StaffContext = Depends(staff_with()), session: Session = Depends(read_session)) -> list[ReplyOut]:
    """The replies used on the case, newest first."""
    return [ReplyOut.of(r) for r in replies_on(session, who.reviewer, case_id)]
