"""Reply templates: what a template may say, and how its placeholders are filled. No I/O.

A template is sandboxed Jinja (`SandboxedEnvironment` with `StrictUndefined`): it reads only the
placeholders below, built from the case by `trustdesk.replies.case_replies.reply_context`. The
set is small on purpose and never holds a staff member's name nor anything about the reporter,
so a reply cannot reveal who reported or who decided. A template that does not render against
a sample of every placeholder (an unknown name, a syntax error, an unsafe attribute) is refused
when it is saved, naming `body` (or `subject`), so staff never meet a broken one on a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from trustdesk.domain.errors import FieldError

MAX_NAME = 200
MAX_SUBJECT = 500
MAX_BODY = 20_000
MAX_TONE = 2_000
# The locales a template is written in: English always, Spanish and Portuguese where written.
LOCALES = ("en", "es", "pt")
DEFAULT_LOCALE = "en"


class ReplyChannel(StrEnum):
    EMAIL = "email"
    APP_STORE = "app_store"
    SOCIAL = "social"


class ReplyDelivery(StrEnum):
    COPIED = "copied"  # staff pasted it into the channel themselves
    SENT = "sent"  # queued as a notice of kind `reply`, delivered by SMTP or the host platform's webhook


# Every placeholder a template may use, with what it holds (shown to the people who write templates).
PLACEHOLDERS: dict[str, str] = {
    "case_id": "The case number, to quote in any follow-up.",
    "app_name": "The product's name, e.g. “Dating”.",
    "subject_kind": "What was reported: account, listing, photo, message …",
    "subject_external_id": "The platform's own id of the account or content.",
    "policy_title": "The rule concerned: the decision's policy, else the one reported.",
    "decision_verdict": "“violation”, “no violation”, or “pending” while the case is open.",
    "decision_date": "The day of the decision (YYYY-MM-DD), empty while the case is open.",
    "actions": "What was done, e.g. “remove, strike”; empty if nothing was.",
    "appeal_window_end": "The last day an appeal can be filed (YYYY-MM-DD), empty while the case is open.",
    "locale": "The locale the reply is written in.",
}
SAMPLE: dict[str, Any] = {
    "case_id": 1234, "app_name": "Dating", "subject_kind": "listing", "subject_external_id": "lst-1",
    "policy_title": "Spam", "decision_verdict": "violation", "decision_date": "2026-12-01", "actions": "remove",
    "appeal_window_end": "2027-06-02", "locale": "en",
}
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def render(source: str, context: dict[str, Any], field: str = "body") -> str:
    """The template filled from `context`; FieldError(field) if it cannot be."""
    try:
        return _ENV.from_string(source).render(context)
    except TemplateError as exc:
        raise FieldError(field, f"does not render: {exc.message or exc.__class__.__name__}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:  # an expression that fails on these values
        raise FieldError(field, f"does not render: {exc.__class__.__name__}: {exc}") from None


@dataclass(frozen=True)
class LocaleText:
    """One locale's version of a template."""

    locale: str
    subject: str
    body: str


def check_text(channel: str, text: LocaleText) -> LocaleText:
    """The text trimmed, if it renders against every placeholder; FieldError naming `body` or
    `subject` (the message names the locale) otherwise."""
    if text.locale not in LOCALES:
        raise FieldError("locale", f"one of {', '.join(LOCALES)}")
    body, subject = text.body.strip(), text.subject.strip()
    where = f"({text.locale}) "
    if not body:
        raise FieldError("body", where + "write the reply")
    if len(body) > MAX_BODY:
        raise FieldError("body", where + f"at most {MAX_BODY} characters")
    if channel == ReplyChannel.EMAIL and not subject:
        raise FieldError("subject", where + "an email needs a subject line")
    if len(subject) > MAX_SUBJECT:
        raise FieldError("subject", where + f"at most {MAX_SUBJECT} characters")
    if "\n" in subject or "\r" in subject:
        raise FieldError("subject", where + "a subject line is one line")
    for field, source in (("body", body), ("subject", subject)):
        try:
            render(source, SAMPLE, field)
        except FieldError as exc:
            raise FieldError(field, where + exc.message) from None
    return LocaleText(text.locale, subject if channel == ReplyChannel.EMAIL else "", body)


def locale_for(wanted: str | None, written: list[str]) -> str:
    """The written locale closest to `wanted`: itself, then its language (`pt-BR` → `pt`), then English."""
    wanted = (wanted or "").strip()
    for candidate in (wanted, wanted.split("-")[0].split("_")[0].lower()):
        if candidate in written:
            return candidate
    return DEFAULT_LOCALE if DEFAULT_LOCALE in written or not written else written[0]


@dataclass(frozen=True)
class DefaultTemplate:
    name: str
    channel: ReplyChannel
    tone: str
    texts: tuple[LocaleText, ...]


# Seeded into a new deployment by `trustdesk db upgrade` and the demo; staff edit them freely.
DEFAULT_TEMPLATES = (
    DefaultTemplate(
        "Content removed (email)", ReplyChannel.EMAIL,
        "The reader may be upset. Be plain and kind; say what happened and how to appeal. Do not argue or repeat the report.",
        (
            LocaleText("en", "About your {{ subject_kind }} on {{ app_name }}",
                       "Hello,\n\nWe looked at your {{ subject_kind }} ({{ subject_external_id }}) and found that it goes against our rule "
                       "on {{ policy_title }}. On {{ decision_date }} we took this step: {{ actions }}.\n\n"
                       "If you think we got this wrong, you can appeal until {{ appeal_window_end }}. A different person will look at it again.\n\n"
                       "Reference: case {{ case_id }}\n\nThe {{ app_name }} Trust & Safety team"),
            LocaleText("es", "Sobre tu {{ subject_kind }} en {{ app_name }}",
                       "Hola:\n\nRevisamos tu {{ subject_kind }} ({{ subject_external_id }}) y vimos que no cumple nuestra norma sobre "
                       "{{ policy_title }}. El {{ decision_date }} tomamos esta medida: {{ actions }}.\n\n"
                       "Si crees que nos equivocamos, puedes apelar hasta el {{ appeal_window_end }}. Otra persona lo revisará de nuevo.\n\n"
                       "Referencia: caso {{ case_id }}\n\nEl equipo de confianza y seguridad de {{ app_name }}"),
            LocaleText("pt", "Sobre o seu {{ subject_kind }} no {{ app_name }}",
                       "Olá,\n\nAnalisamos o seu {{ subject_kind }} ({{ subject_external_id }}) e vimos que ele não segue a nossa regra sobre "
                       "{{ policy_title }}. Em {{ decision_date }} tomamos esta medida: {{ actions }}.\n\n"
                       "Se achar que erramos, você pode recorrer até {{ appeal_window_end }}. Outra pessoa vai analisar de novo.\n\n"
                       "Referência: caso {{ case_id }}\n\nA equipe de confiança e segurança do {{ app_name }}"),
        ),
    ),
    DefaultTemplate(
        "Report reviewed (email)", ReplyChannel.EMAIL,
        "Thank the person for reporting. Never say who was reported or what happened to them beyond the outcome; never name staff.",
        (
            LocaleText("en", "We reviewed your report (case {{ case_id }})",
                       "Hello,\n\nThank you for telling us. We reviewed the {{ subject_kind }} you reported under our rule on {{ policy_title }}.\n\n"
                       "Reports like yours help keep {{ app_name }} safe.\n\nThe {{ app_name }} Trust & Safety team"),
            LocaleText("es", "Revisamos tu denuncia (caso {{ case_id }})",
                       "Hola:\n\nGracias por avisarnos. Revisamos el {{ subject_kind }} que denunciaste según nuestra norma sobre {{ policy_title }}.\n\n"
                       "Denuncias como la tuya ayudan a que {{ app_name }} sea un lugar seguro.\n\nEl equipo de confianza y seguridad de {{ app_name }}"),
            LocaleText("pt", "Analisamos a sua denúncia (caso {{ case_id }})",
                       "Olá,\n\nObrigado por nos avisar. Analisamos o {{ subject_kind }} que você denunciou com base na nossa regra sobre {{ policy_title }}.\n\n"
                       "Denúncias como a sua ajudam a manter o {{ app_name }} seguro.\n\nA equipe de confiança e segurança do {{ app_name }}"),
        ),
    ),
    DefaultTemplate(
        "Account review under way (app store)", ReplyChannel.APP_STORE,
        "Public: anyone can read it. No personal details, no case facts. Short, calm, and point to private support.",
        (
            LocaleText("en", "", "We're sorry for the trouble. Our team is looking into this; please contact us in the app under Help "
                                 "and quote case {{ case_id }} so we can follow up with you privately."),
            LocaleText("es", "", "Lamentamos las molestias. Nuestro equipo lo está revisando; escríbenos desde la app en Ayuda "
                                 "e indica el caso {{ case_id }} para responderte en privado."),
            LocaleText("pt", "", "Sentimos muito pelo transtorno. Nossa equipe está verificando; fale conosco pelo app em Ajuda "
                                 "e informe o caso {{ case_id }} para respondermos em particular."),
        ),
    ),
    DefaultTemplate(
        "Move to private messages (social)", ReplyChannel.SOCIAL,
        "Public: never discuss the decision in the open thread. One or two sentences, warm, and move the talk to private messages.",
        (
            LocaleText("en", "", "Thanks for reaching out. We'd like to help: please send us a direct message with case {{ case_id }} "
                                 "and we'll take it from there."),
            LocaleText("es", "", "Gracias por escribirnos. Queremos ayudarte: envíanos un mensaje directo con el caso {{ case_id }} "
                                 "y seguimos desde ahí."),
            LocaleText("pt", "", "Obrigado pelo contato. Queremos ajudar: mande uma mensagem direta com o caso {{ case_id }} "
                                 "e seguimos por lá."),
        ),
    ),
)
