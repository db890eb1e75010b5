"""Rendering notices from the per-locale Jinja templates in `templates/<locale>/<kind>.txt`.

Each template has a `subject` block (the subject line) and a `body` block (plain text, so no
autoescaping). The environment is sandboxed and strict: a variable the caller did not give is
an error, never an empty gap in a message someone reads. A locale is matched by its full tag,
then by its language (`pt-BR` → `pt`), then falls back to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from trustdesk.domain.replies import locale_for



@dataclass(frozen=True)
class Rendered:
    subject_line: str
    body: str


@cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=PackageLoader("trustdesk.notices", "templates"), undefined=StrictUndefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
    )


@cache
def locales() -> frozenset[str]:
    """The locales with templates (a folder each)."""
    return frozenset(p.name for p in resources.files("trustdesk.notices").joinpath("templates").iterdir() if p.is_dir())


def pick_locale(wanted: str | None) -> str:
    """The best locale with templates for `wanted` (a BCP 47 tag such as `pt-BR`, or None)."""
    return locale_for(wanted, sorted(locales()))


def render(kind: str, locale: str, context: dict[str, Any]) -> Rendered:
    """The subject line and body of a notice of `kind` in `locale` (as `pick_locale` gives it)."""
    template = _environment().get_template(f"{pick_locale(locale)}/{kind}.txt")
    made = template.new_context(context)
    subject = "".join(template.blocks["subject"](made)).strip()
    body = "".join(template.blocks["body"](made)).strip() + "\n"
    return Rendered(" ".join(subject.split()), body)
