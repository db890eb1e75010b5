"""Every rule of the DSA Transparency Database's statement validation, one at a time.

Each table row starts from a statement the database accepts, breaks exactly one rule and expects
exactly one violation, on the field it names. The properties check the validator on statements
nobody thought of: valid ones pass, hostile ones never crash it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.domain import taxonomy
from trustdesk.domain.errors import InvalidStatement
from trustdesk.domain.statement_of_reasons import (
    DECISIONS,
    END_DATES,
    FIELDS,
    LAST_DATE,
    REQUIRED,
    TEXT_LIMITS,
    Violation,
    require_valid,
    violations,
)

ILLEGAL = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_facts": "The listing offered counterfeit goods, shown in the photos.",
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "Regulation (EU) 2017/1001, Art. 9",
    "illegal_content_explanation": "The listing uses a registered trademark without consent.",
    "content_type": ["CONTENT_TYPE_IMAGE"],
    "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "content_date": "2024-03-01",
    "application_date": "2024-03-02",
    "source_type": "SOURCE_ARTICLE_16",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "puid": "td-sor-0001",
}
# Every optional field given, under the other ground.
FULL = {
    "decision_visibility": ["DECISION_VISIBILITY_OTHER", "DECISION_VISIBILITY_CONTENT_LABELLED"],
    "decision_visibility_other": "Hidden from search for the suspension.",
    "end_date_visibility_restriction": "2024-04-01",
    "decision_monetary": "DECISION_MONETARY_OTHER",
    "decision_monetary_other": "Payouts held.",
    "end_date_monetary_restriction": "2024-04-02",
    "decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "end_date_service_restriction": "2024-04-03",
    "decision_account": "DECISION_ACCOUNT_SUSPENDED",
    "end_date_account_restriction": "2024-04-04",
    "account_type": "ACCOUNT_TYPE_PRIVATE",
    "decision_facts": "Repeated phishing links in messages.",
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "decision_ground_reference_url": "https://example.org/terms#spam",
    "incompatible_content_ground": "Terms of service, section 4.2",
    "incompatible_content_explanation": "Messages carried links to a fake login page.",
    "incompatible_content_illegal": "Yes",
    "content_type": ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_OTHER"],
    "content_type_other": "Direct message",
    "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "category_addition": ["STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"],
    "category_specification": ["KEYWORD_PHISHING", "KEYWORD_OTHER"],
    "category_specification_other": "Credential harvesting",
    "content_id": {"EAN-13": "4006381333931"},
    "content_id_ean": "4006381333931",
    "territorial_scope": ["DE", "PT", "NO"],
    "content_language": "PT",
    "content_date": "2024-03-01",
    "application_date": "2024-03-01",
    "source_type": "SOURCE_TRUSTED_FLAGGER",
    "source_identity": "A trusted flagger",
    "automated_detection": "Yes",
    "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
    "puid": "td_sor-0002",
}
DROP = object()


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    statement = dict(base)
    for field, value in changes.items():
        if value is DROP:
            del statement[field]
        else:
            statement[field] = value
    return statement


def test_the_bases_are_valid() -> None:
    assert violations(ILLEGAL) == []
    assert violations(FULL) == []
    assert set(FULL) | set(ILLEGAL) == set(FIELDS), "between them the bases give every field"


BREAKS = [
    # at least one decision
    ("no decision", changed(ILLEGAL, decision_visibility=DROP), "decision_visibility"),
    ("empty decisions", changed(ILLEGAL, decision_visibility=[], decision_account=None), "decision_visibility"),
    # decision_visibility, an array
    ("visibility not a list", changed(ILLEGAL, decision_visibility="DECISION_VISIBILITY_CONTENT_REMOVED"), "decision_visibility"),
    ("visibility unknown", changed(ILLEGAL, decision_visibility=["DECISION_VISIBILITY_GONE"]), "decision_visibility"),
    ("visibility OTHER alone", changed(FULL, decision_visibility_other=DROP), "decision_visibility_other"),
    ("visibility other text alone", changed(ILLEGAL, decision_visibility_other="x"), "decision_visibility_other"),
    ("visibility other too long", changed(FULL, decision_visibility_other="x" * 501), "decision_visibility_other"),
    # decision_monetary
    ("monetary unknown", changed(FULL, decision_monetary="DECISION_MONETARY_FINE"), "decision_monetary"),
    ("monetary OTHER alone", changed(FULL, decision_monetary_other=DROP), "decision_monetary_other"),
    ("monetary other text alone", changed(FULL, decision_monetary="DECISION_MONETARY_SUSPENSION"), "decision_monetary_other"),
    ("monetary other too long", changed(FULL, decision_monetary_other="x" * 501), "decision_monetary_other"),
    # decision_provision, decision_account, account_type
    ("provision unknown", changed(FULL, decision_provision="DECISION_PROVISION_SOME"), "decision_provision"),
    ("account unknown", changed(FULL, decision_account="DECISION_ACCOUNT_BANNED"), "decision_account"),
    ("account type unknown", changed(FULL, account_type="ACCOUNT_TYPE_BOT"), "account_type"),
    # decision_facts
    ("facts missing", changed(ILLEGAL, decision_facts=DROP), "decision_facts"),
    ("facts blank", changed(ILLEGAL, decision_facts="   "), "decision_facts"),
    ("facts not text", changed(ILLEGAL, decision_facts=42), "decision_facts"),
    ("facts too long", changed(ILLEGAL, decision_facts="x" * 5001), "decision_facts"),
    # decision_ground and what it requires
    ("ground missing", changed(ILLEGAL, decision_ground=DROP), "decision_ground"),
    ("ground unknown", changed(ILLEGAL, decision_ground="DECISION_GROUND_OTHER"), "decision_ground"),
    ("illegal without legal ground", changed(ILLEGAL, illegal_content_legal_ground=DROP), "illegal_content_legal_ground"),
    ("illegal without explanation", changed(ILLEGAL, illegal_content_explanation=""), "illegal_content_explanation"),
    ("legal ground too long", changed(ILLEGAL, illegal_content_legal_ground="x" * 501), "illegal_content_legal_ground"),
    ("illegal explanation too long", changed(ILLEGAL, illegal_content_explanation="x" * 2001), "illegal_content_explanation"),
    ("illegal with incompatible ground", changed(ILLEGAL, incompatible_content_ground="ToS 1"), "incompatible_content_ground"),
    ("illegal with incompatible explanation", changed(ILLEGAL, incompatible_content_explanation="x"), "incompatible_content_explanation"),
    ("illegal with incompatible-illegal", changed(ILLEGAL, incompatible_content_illegal="No"), "incompatible_content_illegal"),
    ("incompatible without ground", changed(FULL, incompatible_content_ground=DROP), "incompatible_content_ground"),
    ("incompatible without explanation", changed(FULL, incompatible_content_explanation=None), "incompatible_content_explanation"),
    ("incompatible ground too long", changed(FULL, incompatible_content_ground="x" * 501), "incompatible_content_ground"),
    ("incompatible explanation too long", changed(FULL, incompatible_content_explanation="x" * 2001), "incompatible_content_explanation"),
    ("incompatible with legal ground", changed(FULL, illegal_content_legal_ground="Art. 1"), "illegal_content_legal_ground"),
    ("incompatible with illegal explanation", changed(FULL, illegal_content_explanation="x"), "illegal_content_explanation"),
    ("incompatible-illegal not Yes/No", changed(FULL, incompatible_content_illegal="yes"), "incompatible_content_illegal"),
    ("reference url not http", changed(FULL, decision_ground_reference_url="ftp://example.org/terms"), "decision_ground_reference_url"),
    ("reference url not a url", changed(FULL, decision_ground_reference_url="see our terms"), "decision_ground_reference_url"),
    ("reference url too long", changed(FULL, decision_ground_reference_url="https://e.org/" + "x" * 490), "decision_ground_reference_url"),
    # content_type, an array
    ("content type missing", changed(ILLEGAL, content_type=DROP), "content_type"),
    ("content type empty", changed(ILLEGAL, content_type=[]), "content_type"),
    ("content type not a list", changed(ILLEGAL, content_type="CONTENT_TYPE_IMAGE"), "content_type"),
    ("content type unknown", changed(ILLEGAL, content_type=["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_HOLOGRAM"]), "content_type"),
    ("content type OTHER alone", changed(FULL, content_type_other=DROP), "content_type_other"),
    ("content type other text alone", changed(ILLEGAL, content_type_other="Direct message"), "content_type_other"),
    ("content type other too long", changed(FULL, content_type_other="x" * 501), "content_type_other"),
    # category, category_addition, category_specification
    ("category missing", changed(ILLEGAL, category=DROP), "category"),
    ("category unknown", changed(ILLEGAL, category="STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"), "category"),
    ("category a keyword", changed(ILLEGAL, category="KEYWORD_PHISHING"), "category"),
    ("addition unknown", changed(FULL, category_addition=["STATEMENT_CATEGORY_SPAM"]), "category_addition"),
    ("addition not a list", changed(FULL, category_addition="STATEMENT_CATEGORY_VIOLENCE"), "category_addition"),
    ("keyword unknown", changed(FULL, category_specification=["KEYWORD_OTHER", "KEYWORD_SPAM"]), "category_specification"),
    ("KEYWORD_OTHER alone", changed(FULL, category_specification_other=DROP), "category_specification_other"),
    ("keyword other text alone", changed(ILLEGAL, category_specification_other="x"), "category_specification_other"),
    ("keyword other too long", changed(FULL, category_specification_other="x" * 501), "category_specification_other"),
    # territorial_scope, content_language
    ("scope outside the EEA", changed(FULL, territorial_scope=["DE", "GB"]), "territorial_scope"),
    ("scope lower case", changed(FULL, territorial_scope=["de"]), "territorial_scope"),
    ("scope not a list", changed(FULL, territorial_scope="DE"), "territorial_scope"),
    ("language lower case", changed(FULL, content_language="pt"), "content_language"),
    ("language unknown", changed(FULL, content_language="XX"), "content_language"),
    ("language three letters", changed(FULL, content_language="POR"), "content_language"),
    # content_date
    ("content date missing", changed(ILLEGAL, content_date=DROP), "content_date"),
    ("content date not Y-m-d", changed(ILLEGAL, content_date="01-03-2024"), "content_date"),
    ("content date without zeroes", changed(ILLEGAL, content_date="2024-3-1"), "content_date"),
    ("content date with a time", changed(ILLEGAL, content_date="2024-03-01 10:00:00"), "content_date"),
    ("content date not a day", changed(ILLEGAL, content_date="2023-02-29"), "content_date"),
    ("content date before 2000", changed(ILLEGAL, content_date="1999-12-31"), "content_date"),
    ("content date not text", changed(ILLEGAL, content_date=20240301), "content_date"),
    # application_date
    ("application date missing", changed(ILLEGAL, application_date=DROP), "application_date"),
    ("application date not Y-m-d", changed(ILLEGAL, application_date="2024/03/02"), "application_date"),
    ("application date before 2020", changed(ILLEGAL, content_date="2019-12-30", application_date="2019-12-31"), "application_date"),
    ("application date after 2038", changed(ILLEGAL, application_date="2038-01-02"), "application_date"),
    ("application before content", changed(ILLEGAL, application_date="2024-02-29"), "application_date"),
    # end dates
    ("visibility end before application", changed(FULL, end_date_visibility_restriction="2024-02-29"), "end_date_visibility_restriction"),
    ("monetary end not Y-m-d", changed(FULL, end_date_monetary_restriction="2024-04"), "end_date_monetary_restriction"),
    ("service end after 2038", changed(FULL, end_date_service_restriction="2038-01-02"), "end_date_service_restriction"),
    ("account end before application", changed(FULL, end_date_account_restriction="2023-12-31"), "end_date_account_restriction"),
    (
        "visibility end without visibility",
        changed(FULL, decision_visibility=DROP, decision_visibility_other=DROP),
        "end_date_visibility_restriction",
    ),
    ("monetary end without monetary", changed(FULL, decision_monetary=DROP, decision_monetary_other=DROP), "end_date_monetary_restriction"),
    ("service end without provision", changed(FULL, decision_provision=None), "end_date_service_restriction"),
    ("account end without account", changed(FULL, decision_account=DROP), "end_date_account_restriction"),
    # source
    ("source type missing", changed(ILLEGAL, source_type=DROP), "source_type"),
    ("source type unknown", changed(ILLEGAL, source_type="SOURCE_OTHER"), "source_type"),
    ("voluntary with a source identity", changed(FULL, source_type="SOURCE_VOLUNTARY"), "source_identity"),
    ("source identity too long", changed(FULL, source_identity="x" * 501), "source_identity"),
    # automation
    ("detection missing", changed(ILLEGAL, automated_detection=DROP), "automated_detection"),
    ("detection lower case", changed(ILLEGAL, automated_detection="yes"), "automated_detection"),
    ("detection a boolean", changed(ILLEGAL, automated_detection=True), "automated_detection"),
    ("decision missing", changed(ILLEGAL, automated_decision=DROP), "automated_decision"),
    ("decision unknown", changed(ILLEGAL, automated_decision="AUTOMATED_DECISION_SOMEWHAT"), "automated_decision"),
    # puid
    ("puid missing", changed(ILLEGAL, puid=DROP), "puid"),
    ("puid with a space", changed(ILLEGAL, puid="td sor 1"), "puid"),
    ("puid with a slash", changed(ILLEGAL, puid="td/sor/1"), "puid"),
    ("puid ending in a newline", changed(ILLEGAL, puid="td-sor-1\n"), "puid"),
    ("puid not ASCII", changed(ILLEGAL, puid="td-sör-1"), "puid"),
    ("puid too long", changed(ILLEGAL, puid="x" * 501), "puid"),
    # content identifiers
    ("content id not an object", changed(FULL, content_id="4006381333931", content_id_ean=DROP), "content_id"),
    ("content id other key", changed(FULL, content_id={"ISBN": "4006381333931"}, content_id_ean=DROP), "content_id"),
    ("content id extra key", changed(FULL, content_id={"EAN-13": "4006381333931", "x": "1"}), "content_id"),
    ("content id short", changed(FULL, content_id={"EAN-13": "400638133393"}, content_id_ean=DROP), "content_id"),
    ("content id check digit", changed(FULL, content_id={"EAN-13": "4006381333932"}, content_id_ean=DROP), "content_id"),
    ("EAN not digits", changed(FULL, content_id=DROP, content_id_ean="40063813339x1"), "content_id_ean"),
    ("EAN and content id differ", changed(FULL, content_id_ean="5901234123457"), "content_id_ean"),
    # only the database's fields
    ("unknown field", changed(ILLEGAL, platform_name="Example"), "platform_name"),
]


@pytest.mark.parametrize(("statement", "field"), [row[1:] for row in BREAKS], ids=[row[0] for row in BREAKS])
def test_breaking_one_rule_names_exactly_its_field(statement: dict[str, Any], field: str) -> None:
    found = violations(statement)
    assert [v.field for v in found] == [field], found


def test_every_violation_is_reported_not_just_the_first() -> None:
    statement = changed(
        FULL, puid="bad puid", content_language="xx", end_date_account_restriction="2020-01-01", decision_facts=DROP,
        source_type="SOURCE_VOLUNTARY", extra="1",
    )
    assert {v.field for v in violations(statement)} == {
        "puid", "content_language", "end_date_account_restriction", "decision_facts", "source_identity", "extra",
    }


def test_an_empty_statement_names_every_required_field() -> None:
    assert {v.field for v in violations({})} == {*REQUIRED, DECISIONS[0]}


def test_not_an_object() -> None:
    assert violations(["puid"]) == [Violation("statement", "must be a JSON object")]  # type: ignore[arg-type]


@pytest.mark.parametrize("field", sorted(set(TEXT_LIMITS) - {"decision_ground_reference_url", "puid"}))
def test_text_may_be_exactly_as_long_as_its_limit(field: str) -> None:
    base = ILLEGAL if field.startswith("illegal_") else FULL
    assert violations(changed(base, **{field: "é" * TEXT_LIMITS[field]})) == []
    assert [v.field for v in violations(changed(base, **{field: "é" * (TEXT_LIMITS[field] + 1)}))] == [field]


def test_the_bounds_are_inclusive() -> None:
    assert violations(changed(ILLEGAL, content_date="2000-01-01", application_date="2020-01-01")) == []
    assert violations(changed(FULL, application_date="2038-01-01", content_date="2038-01-01", **dict.fromkeys(END_DATES, "2038-01-01"))) == []
    assert violations(changed(FULL, **dict.fromkeys(END_DATES, "2024-03-01"))) == [], "an end date may be the application date"


def test_every_eu_and_eea_country_and_no_other() -> None:
    assert violations(changed(FULL, territorial_scope=sorted(taxonomy.DSA_TERRITORIES))) == []
    assert len(taxonomy.DSA_TERRITORIES) == 30


def test_require_valid_raises_with_every_violation() -> None:
    require_valid(FULL)
    with pytest.raises(InvalidStatement) as caught:
        require_valid(changed(ILLEGAL, puid="a b", category=DROP))
    assert caught.value.status == 422
    assert caught.value.field == "category"
    assert [field for field, _ in caught.value.violations] == ["category", "puid"]


# -- properties ------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(str.strip)
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2037, 12, 1))


def _some(values: frozenset[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=4, unique=True)


@st.composite
def valid_statements(draw: st.DrawFn) -> dict[str, Any]:
    """Any statement the database accepts, optional parts included at random."""
    application = draw(DAYS)
    statement: dict[str, Any] = {
        "decision_facts": draw(TEXT),
        "decision_ground": draw(st.sampled_from(sorted(taxonomy.DSA_DECISION_GROUNDS))),
        "content_type": draw(_some(taxonomy.DSA_CONTENT_TYPES)),
        "category": draw(st.sampled_from(sorted(taxonomy.DSA_CATEGORIES))),
        "content_date": (application - timedelta(days=draw(st.integers(0, 5000)))).isoformat(),
        "application_date": application.isoformat(),
        "source_type": draw(st.sampled_from(sorted(taxonomy.DSA_SOURCE_TYPES))),
        "automated_detection": draw(st.sampled_from(["Yes", "No"])),
        "automated_decision": draw(st.sampled_from(sorted(taxonomy.DSA_AUTOMATED_DECISIONS))),
        "puid": draw(st.text("abcXYZ019-_", min_size=1, max_size=500)),
    }
    decisions = draw(st.lists(st.sampled_from(DECISIONS), min_size=1, unique=True))
    enums = {
        "decision_visibility": None, "decision_monetary": taxonomy.DSA_DECISION_MONETARY,
        "decision_provision": taxonomy.DSA_DECISION_PROVISIONS, "decision_account": taxonomy.DSA_DECISION_ACCOUNTS,
    }
    for decision in decisions:
        values = enums[decision]
        statement[decision] = draw(_some(taxonomy.DSA_DECISION_VISIBILITIES) if values is None else st.sampled_from(sorted(values)))
    for end, decision in END_DATES.items():
        if decision in decisions and draw(st.booleans()):
            statement[end] = min(application + timedelta(days=draw(st.integers(0, 300))), LAST_DATE).isoformat()
    if statement["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT":
        statement |= {"illegal_content_legal_ground": draw(TEXT), "illegal_content_explanation": draw(TEXT)}
    else:
        statement |= {"incompatible_content_ground": draw(TEXT), "incompatible_content_explanation": draw(TEXT)}
        if draw(st.booleans()):
            statement["incompatible_content_illegal"] = draw(st.sampled_from(["Yes", "No"]))
    if draw(st.booleans()):
        statement["category_specification"] = draw(_some(taxonomy.DSA_KEYWORDS))
    if draw(st.booleans()):
        statement["territorial_scope"] = draw(_some(taxonomy.DSA_TERRITORIES))
    if draw(st.booleans()):
        statement["content_language"] = draw(st.sampled_from(sorted(taxonomy.ISO_639_1_LANGUAGES)))
    if statement["source_type"] != "SOURCE_VOLUNTARY" and draw(st.booleans()):
        statement["source_identity"] = draw(TEXT)
    for field, other, value in (
        ("decision_visibility", "decision_visibility_other", "DECISION_VISIBILITY_OTHER"),
        ("content_type", "content_type_other", "CONTENT_TYPE_OTHER"),
        ("category_specification", "category_specification_other", "KEYWORD_OTHER"),
    ):
        if value in statement.get(field, ()):
            statement[other] = draw(TEXT)
    if statement.get("decision_monetary") == "DECISION_MONETARY_OTHER":
        statement["decision_monetary_other"] = draw(TEXT)
    return statement


@given(valid_statements())
def test_valid_statements_pass(statement: dict[str, Any]) -> None:
    assert violations(statement) == []


@given(valid_statements(), st.sampled_from(REQUIRED))
def test_leaving_out_a_required_field_names_it_alone(statement: dict[str, Any], field: str) -> None:
    del statement[field]
    assert [v.field for v in violations(statement)] == [field]


@given(valid_statements(), st.sampled_from(sorted(TEXT_LIMITS)))
def test_overlong_text_names_its_field_alone(statement: dict[str, Any], field: str) -> None:
    if field in statement:
        statement[field] = "a" * (TEXT_LIMITS[field] + 1)
        assert [v.field for v in violations(statement)] == [field]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), JSON, max_size=12))
def test_hostile_statements_never_crash_and_name_real_fields(statement: dict[str, Any]) -> None:
    for found in violations(statement):
        assert found.field in FIELDS or found.field in statement
        assert found.message


@given(valid_statements(), st.sampled_from(FIELDS), JSON)
def test_any_value_in_any_field_is_judged_without_crashing(statement: dict[str, Any], field: str, value: Any) -> None:
    statement[field] = value
    assert all(v.field in FIELDS for v in violations(statement))
