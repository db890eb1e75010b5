"""Reply templates render in a sandbox over the documented placeholders only; the defaults do in
every locale; a text that cannot render is refused naming the part at fault."""

from __future__ import annotations

import pytest

from trustdesk.domain.errors import FieldError
from trustdesk.domain.replies import DEFAULT_TEMPLATES, LOCALES, PLACEHOLDERS, SAMPLE, LocaleText, check_text, locale_for, render


def test_the_sample_fills_every_placeholder_and_nothing_else() -> None:
    assert SAMPLE.keys() == PLACEHOLDERS.keys()


@pytest.mark.parametrize("default", DEFAULT_TEMPLATES, ids=lambda d: d.name)
def test_each_default_template_is_written_in_every_locale_and_renders(default) -> None:  # type: ignore[no-untyped-def]
    assert sorted(t.locale for t in default.texts) == sorted(LOCALES)
    for text in default.texts:
        checked = check_text(default.channel, text)
        filled = render(checked.subject, SAMPLE) + "\n" + render(checked.body, SAMPLE)
        assert "{{" not in filled and str(SAMPLE["case_id"]) in filled  # every reply quotes the case


@pytest.mark.parametrize(("text", "field", "words"), [
    (LocaleText("en", "Hi", "Reported by {{ reporter_name }}"), "body", "'reporter_name' is undefined"),
    (LocaleText("en", "Hi", "{% if %}"), "body", "does not render"),
    (LocaleText("es", "Hi", "{{ case_id.__class__.__mro__ }}"), "body", "unsafe"),
    (LocaleText("en", "Hi {{ staff }}", "ok"), "subject", "'staff' is undefined"),
    (LocaleText("pt", "", "ok"), "subject", "(pt) an email needs a subject line"),
    (LocaleText("en", "About your\nlisting", "ok"), "subject", "(en) a subject line is one line"),
    (LocaleText("en", "Hi", "   "), "body", "write the reply"),
    (LocaleText("de", "Hi", "ok"), "locale", "one of en, es, pt"),
])
def test_a_text_that_cannot_render_is_refused_naming_the_part(text: LocaleText, field: str, words: str) -> None:
    with pytest.raises(FieldError) as refused:
        check_text("email", text)
    assert refused.value.field == field and words in refused.value.message


def test_an_app_store_or_social_reply_has_no_subject_line() -> None:
    assert check_text("social", LocaleText("en", "ignored", " Case {{ case_id }} ")) == LocaleText("en", "", "Case {{ case_id }}")


def test_the_locale_closest_to_the_subjects_is_chosen() -> None:
    assert locale_for("pt-BR", ["en", "pt"]) == "pt"
    assert locale_for("es_MX", ["en", "es"]) == "es"
    assert locale_for("de", ["en", "es"]) == "en"
    assert locale_for(None, ["en"]) == "en"
