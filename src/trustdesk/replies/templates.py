"""Reply templates in the database: admins write them (per locale), staff pick them on cases.

Saving checks every locale's text by rendering it against all placeholders, so a template that
would fail on a case is refused at save time, naming `body` or `subject`. A template is never
deleted (uses on cases point at it): it is deactivated, and then no longer offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.replies import DEFAULT_LOCALE, DEFAULT_TEMPLATES, MAX_NAME, MAX_TONE, LocaleText, ReplyChannel, check_text
from trustdesk.store.models import ReplyTemplate, ReplyTemplateText, utcnow
from trustdesk.store.unique_names import claimed


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    channel: str
    tone: str = ""
    active: bool = True
    texts: list[LocaleText] = field(default_factory=list)


def list_templates(session: Session, *, active_only: bool = False, channel: str | None = None) -> list[ReplyTemplate]:
    stmt = select(ReplyTemplate).order_by(ReplyTemplate.channel, ReplyTemplate.name)
    if active_only:
        stmt = stmt.where(ReplyTemplate.active.is_(True))
    if channel:
        stmt = stmt.where(ReplyTemplate.channel == channel)
    return list(session.execute(stmt).scalars())


def get_template(session: Session, template_id: int) -> ReplyTemplate:
    template = session.get(ReplyTemplate, template_id)
    if template is None:
        raise NotFound("template_id", f"no reply template {template_id}")
    return template


def texts_of(session: Session, template_id: int) -> dict[str, ReplyTemplateText]:
    """The template's text per locale."""
    rows = session.execute(select(ReplyTemplateText).where(ReplyTemplateText.template_id == template_id)).scalars()
    return {row.locale: row for row in rows}


def _checked(spec: TemplateSpec) -> TemplateSpec:
    name = spec.name.strip()
    if not name:
        raise FieldError("name", "give the template a name staff will recognise")
    if len(name) > MAX_NAME:
        raise FieldError("name", f"at most {MAX_NAME} characters")
    if spec.channel not in {c.value for c in ReplyChannel}:
        raise FieldError("channel", f"one of {', '.join(c.value for c in ReplyChannel)}")
    if len(spec.tone) > MAX_TONE:
        raise FieldError("tone", f"at most {MAX_TONE} characters")
    texts = [check_text(spec.channel, t) for t in spec.texts if t.body.strip() or t.subject.strip()]
    if DEFAULT_LOCALE not in {t.locale for t in texts}:
        raise FieldError("body", f"({DEFAULT_LOCALE}) write the English version: it is the one every locale falls back to")
    if len({t.locale for t in texts}) != len(texts):
        raise FieldError("locale", "one text per locale")
    return TemplateSpec(name, spec.channel, spec.tone.replace("\r\n", "\n").strip(), spec.active, texts)


def _summary(spec: TemplateSpec) -> dict[str, object]:
    return {"name": spec.name, "channel": spec.channel, "tone": spec.tone, "active": spec.active,
            "texts": {t.locale: {"subject": t.subject, "body": t.body} for t in spec.texts}}


def save_template(session: Session, actor: Actor, spec: TemplateSpec, template_id: int | None = None) -> ReplyTemplate:
    """Create the template, or replace an existing one's fields and texts (audited with before and after)."""
    spec = _checked(spec)
    before = None
    with claimed(session, Conflict("name", f"another template is called {spec.name!r}")):
        if template_id is None:
            template = ReplyTemplate(name=spec.name, channel=spec.channel, tone=spec.tone, active=spec.active, created_by=actor.label)
            session.add(template)
            session.flush()
        else:
            template = session.get(ReplyTemplate, template_id, with_for_update=True)
            if template is None:
                raise NotFound("template_id", f"no reply template {template_id}")
            old = texts_of(session, template_id)
            before = _summary(TemplateSpec(template.name, template.channel, template.tone, template.active,
                                           [LocaleText(t.locale, t.subject, t.body) for t in old.values()]))
            template.name, template.channel, template.tone, template.active = spec.name, spec.channel, spec.tone, spec.active
            template.updated_at = utcnow()
            session.execute(delete(ReplyTemplateText).where(ReplyTemplateText.template_id == template_id))
        session.add_all(ReplyTemplateText(template_id=template.id, locale=t.locale, subject=t.subject, body=t.body) for t in spec.texts)
    record(session, actor=actor, verb="reply_template.created" if before is None else "reply_template.edited",
           object_type="reply_template", object_id=template.id, before=before, after=_summary(spec))
    return template


def seed_reply_templates(session: Session, actor: Actor) -> int:
    """Give a new deployment the default templates; a deployment that has any is left alone."""
    if session.execute(select(ReplyTemplate.id).limit(1)).first():
        return 0
    for default in DEFAULT_TEMPLATES:
        save_template(session, actor, TemplateSpec(default.name, default.channel.value, default.tone, True, list(default.texts)))
    return len(DEFAULT_TEMPLATES)
