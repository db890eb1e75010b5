"""A DSA statement of reasons (Art. 17), checked against the DSA Transparency Database's rules.

A statement is kept and exported as the Transparency Database's own JSON object (its field names
and enum values verbatim), so whatever passes `violations` here is what the database accepts.
Every breach is reported as a (field, message) pair, all of them at once, so an API can answer
422 naming each field.

Rules followed: the statement API validation of digital-services-act/transparency-database —
`app/Http/Requests/StatementStoreRequest.php` and the same rule set in
`app/Services/GroupedSubmissionsService.php` (`multi_rules`, commit 242ba47f: the `puid`
pattern, Y-m-d dates and the 2000-01-01 / 2020-01-01 / 2038-01-01 bounds) — and the API v2
documentation (`resources/markdown/api-documentation-two.md`, commit 7c0a571a), which adds
`content_id` with its single key `EAN-13`, stored as `content_id_ean`.

TrustDesk is stricter than the database in a few places and never looser, so nothing accepted
here is refused at submission:
- a field the database would silently drop is refused instead (its `exclude_unless` rules:
  `illegal_content_*` under an incompatible-content ground and the reverse, `*_other` text without
  its OTHER value, `source_identity` for a voluntary source), as is an end date without its
  decision and any field the database does not know;
- `KEYWORD_OTHER` needs `category_specification_other`;
- `application_date` may not be before `content_date`;
- `decision_ground_reference_url` is an http(s) URL, an EAN-13 has a valid check digit.
That a `puid` is unique per platform needs storage: the store holds that constraint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, TypedDict
from urllib.parse import urlsplit

from trustdesk.domain import taxonomy
from trustdesk.domain.errors import InvalidStatement


class StatementOfReasons(TypedDict, total=False):
    """The Transparency Database's statement object; which fields are required is in `violations`."""

    decision_visibility: list[str]
    decision_visibility_other: str
    end_date_visibility_restriction: str
    decision_monetary: str
    decision_monetary_other: str
    end_date_monetary_restriction: str
    decision_provision: str
    end_date_service_restriction: str
    decision_account: str
    end_date_account_restriction: str
    account_type: str
    decision_facts: str
    decision_ground: str
    decision_ground_reference_url: str
    illegal_content_legal_ground: str
    illegal_content_explanation: str
    incompatible_content_ground: str
    incompatible_content_explanation: str
    incompatible_content_illegal: str
    content_type: list[str]
    content_type_other: str
    category: str
    category_addition: list[str]
    category_specification: list[str]
    category_specification_other: str
    content_id: dict[str, str]
    content_id_ean: str
    territorial_scope: list[str]
    content_language: str
    content_date: str
    application_date: str
    source_type: str
    source_identity: str
    automated_detection: str
    automated_decision: str
    puid: str


FIELDS: tuple[str, ...] = tuple(StatementOfReasons.__annotations__)
_KNOWN = frozenset(FIELDS)


class Violation(NamedTuple):
    field: str
    message: str


REQUIRED = (
    "decision_ground", "content_type", "category", "decision_facts", "content_date", "application_date",
    "source_type", "automated_detection", "automated_decision", "puid",
)
# At least one of these restrictions is what makes a statement of reasons.
DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")

TEXT_LIMITS = {
    "decision_visibility_other": 500, "decision_monetary_other": 500, "decision_facts": 5000,
    "decision_ground_reference_url": 500, "illegal_content_legal_ground": 500, "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500, "incompatible_content_explanation": 2000, "content_type_other": 500,
    "category_specification_other": 500, "source_identity": 500, "puid": 500,
}
ONE_OF: dict[str, frozenset[str]] = {
    "decision_monetary": taxonomy.DSA_DECISION_MONETARY,
    "decision_provision": taxonomy.DSA_DECISION_PROVISIONS,
    "decision_account": taxonomy.DSA_DECISION_ACCOUNTS,
    "account_type": taxonomy.DSA_ACCOUNT_TYPES,
    "decision_ground": taxonomy.DSA_DECISION_GROUNDS,
    "incompatible_content_illegal": taxonomy.DSA_YES_NO,
    "category": taxonomy.DSA_CATEGORIES,
    "content_language": taxonomy.ISO_639_1_LANGUAGES,
    "source_type": taxonomy.DSA_SOURCE_TYPES,
    "automated_detection": taxonomy.DSA_YES_NO,
    "automated_decision": taxonomy.DSA_AUTOMATED_DECISIONS,
}
MANY_OF: dict[str, frozenset[str]] = {
    "decision_visibility": taxonomy.DSA_DECISION_VISIBILITIES,
    "content_type": taxonomy.DSA_CONTENT_TYPES,
    "category_addition": taxonomy.DSA_CATEGORIES,
    "category_specification": taxonomy.DSA_KEYWORDS,
    "territorial_scope": taxonomy.DSA_TERRITORIES,
}
LAST_DATE = date(2038, 1, 1)
# Each date field and the earliest day it may name.
DATES: dict[str, date | None] = {
    "content_date": date(2000, 1, 1),
    "application_date": date(2020, 1, 1),
    "end_date_visibility_restriction": None,
    "end_date_monetary_restriction": None,
    "end_date_service_restriction": None,
    "end_date_account_restriction": None,
}
# Each end date and the decision whose restriction it ends.
END_DATES = {
    "end_date_visibility_restriction": "decision_visibility",
    "end_date_monetary_restriction": "decision_monetary",
    "end_date_service_restriction": "decision_provision",
    "end_date_account_restriction": "decision_account",
}
EAN_KEY = "EAN-13"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PUID = re.compile(r"[A-Za-z0-9_-]+")
_EAN13 = re.compile(r"[0-9]{13}")
_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


@dataclass(frozen=True)
class _Condition:
    """When a dependent field is allowed (and, for `Dependent.required`, needed)."""

    source: str  # the field the condition reads; when it is itself invalid, the dependants are not judged
    words: str
    holds: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class _Dependent:
    field: str
    condition: _Condition
    required: bool


def _contains(field: str, value: str) -> _Condition:
    return _Condition(field, f"{field} contains {value}", lambda s: value in (s.get(field) or ()))


def _equals(field: str, value: str) -> _Condition:
    return _Condition(field, f"{field} is {value}", lambda s: s.get(field) == value)


_ILLEGAL_GROUND = _equals("decision_ground", _ILLEGAL)
_INCOMPATIBLE_GROUND = _equals("decision_ground", _INCOMPATIBLE)
DEPENDENTS: tuple[_Dependent, ...] = (
    _Dependent("decision_visibility_other", _contains("decision_visibility", "DECISION_VISIBILITY_OTHER"), True),
    _Dependent("decision_monetary_other", _equals("decision_monetary", "DECISION_MONETARY_OTHER"), True),
    _Dependent("content_type_other", _contains("content_type", "CONTENT_TYPE_OTHER"), True),
    _Dependent("category_specification_other", _contains("category_specification", "KEYWORD_OTHER"), True),
    _Dependent("illegal_content_legal_ground", _ILLEGAL_GROUND, True),
    _Dependent("illegal_content_explanation", _ILLEGAL_GROUND, True),
    _Dependent("incompatible_content_ground", _INCOMPATIBLE_GROUND, True),
    _Dependent("incompatible_content_explanation", _INCOMPATIBLE_GROUND, True),
    _Dependent("incompatible_content_illegal", _INCOMPATIBLE_GROUND, False),
    _Dependent(
        "source_identity",
        _Condition("source_type", "source_type is not SOURCE_VOLUNTARY", lambda s: s.get("source_type") != "SOURCE_VOLUNTARY"),
        False,
    ),
    *(
        _Dependent(end, _Condition(decision, f"{decision} is given", lambda s, d=decision: present(s.get(d))), False)
        for end, decision in END_DATES.items()
    ),
)


def present(value: object) -> bool:
    """Whether a value counts as given: not null, not blank text, not an empty list or object."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict)):
        return bool(value)
    return True


def violations(statement: Mapping[str, Any]) -> list[Violation]:
    """Every rule `statement` breaks, in field order; empty when the Transparency Database accepts it."""
    if not isinstance(statement, Mapping):
        return [Violation("statement", "must be a JSON object")]
    found = list(_field_violations(statement))
    broken = {v.field for v in found}
    found += _cross_violations(statement, broken)
    order = {name: index for index, name in enumerate(FIELDS)}
    return sorted(found, key=lambda v: order.get(v.field, len(order)))


def require_valid(statement: Mapping[str, Any]) -> None:
    """Raise `InvalidStatement` listing every violation, so nothing invalid is stored."""
    found = violations(statement)
    if found:
        raise InvalidStatement([(v.field, v.message) for v in found])


def _field_violations(statement: Mapping[str, Any]) -> Iterator[Violation]:
    for key in statement:
        if key not in _KNOWN:
            yield Violation(str(key)[:100], "is not a field of a statement of reasons")
    for field in REQUIRED:
        if not present(statement.get(field)):
            yield Violation(field, "is required")
    if not any(present(statement.get(field)) for field in DECISIONS):
        yield Violation(DECISIONS[0], f"at least one of {', '.join(DECISIONS)} is required")
    for field in FIELDS:
        value = statement.get(field)
        if present(value):
            message = _value_problem(field, value)
            if message:
                yield Violation(field, message)


def _value_problem(field: str, value: object) -> str | None:
    """What is wrong with a given value taken on its own, if anything."""
    if field in TEXT_LIMITS:
        if not isinstance(value, str):
            return "must be text"
        if len(value) > TEXT_LIMITS[field]:
            return f"may be at most {TEXT_LIMITS[field]} characters"
    if field in ONE_OF and (not isinstance(value, str) or value not in ONE_OF[field]):
        return "is not one of the allowed values"
    if field in MANY_OF:
        if not isinstance(value, list):
            return "must be a list"
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in MANY_OF[field]:
                return f"item {index} is not one of the allowed values"
    if field in DATES:
        return _date_problem(value, DATES[field])
    if field == "puid" and not _PUID.fullmatch(str(value)):
        return "may contain only letters a-z and A-Z, digits, '-' and '_'"
    if field == "decision_ground_reference_url":
        return _url_problem(str(value))
    if field == "content_id":
        return _content_id_problem(value)
    if field == "content_id_ean":
        return _ean_problem(value)
    return None


def _date_problem(value: object, earliest: date | None) -> str | None:
    day = _as_date(value)
    if day is None:
        return "must be a date written YYYY-MM-DD"
    if earliest is not None and day < earliest:
        return f"may not be before {earliest.isoformat()}"
    if day > LAST_DATE:
        return f"may not be after {LAST_DATE.isoformat()}"
    return None


def _as_date(value: object) -> date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return "must be an http or https URL"
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        return "must be an http or https URL"
    return None


def _content_id_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return f"must be an object with the key {EAN_KEY}"
    if set(value) != {EAN_KEY}:
        return f"{EAN_KEY} is the only key allowed"
    return _ean_problem(value[EAN_KEY])


def _ean_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _EAN13.fullmatch(value):
        return "must be an EAN-13 code of 13 digits"
    digits = [int(c) for c in value]
    weighted = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    if (10 - weighted % 10) % 10 != digits[12]:
        return "is not a valid EAN-13 code (check digit)"
    return None


def _cross_violations(statement: Mapping[str, Any], broken: set[str]) -> Iterator[Violation]:
    """Rules between fields, judged only where the fields they read are themselves valid."""
    for dependent in DEPENDENTS:
        condition = dependent.condition
        if condition.source in broken or dependent.field in broken:
            continue
        given = present(statement.get(dependent.field))
        if condition.holds(statement):
            if dependent.required and not given:
                yield Violation(dependent.field, f"is required when {condition.words}")
        elif given:
            yield Violation(dependent.field, f"is only allowed when {condition.words}")
    ean = statement.get("content_id_ean")
    content_id = statement.get("content_id")
    if (
        present(ean) and present(content_id) and not {"content_id", "content_id_ean"} & broken
        and content_id[EAN_KEY] != ean
    ):
        yield Violation("content_id_ean", f"must equal content_id {EAN_KEY}")
    application = _as_date(statement.get("application_date"))
    if application is None or "application_date" in broken:
        return
    content = _as_date(statement.get("content_date"))
    if content is not None and "content_date" not in broken and application < content:
        yield Violation("application_date", "may not be before content_date")
    for end in END_DATES:
        day = _as_date(statement.get(end))
        if day is not None and end not in broken and day < application:
            yield Violation(end, "may not be before application_date")


# --- building one ----------------------------------------------------------------------------

# What a subject kind is in the Transparency Database; kinds with no type of their own are OTHER,
# named in `content_type_other`.
CONTENT_TYPES: dict[str, str] = {
    "photo": "CONTENT_TYPE_IMAGE", "audio": "CONTENT_TYPE_AUDIO", "video": "CONTENT_TYPE_VIDEO",
    "message": "CONTENT_TYPE_TEXT", "conversation": "CONTENT_TYPE_TEXT", "comment": "CONTENT_TYPE_TEXT",
    "review": "CONTENT_TYPE_TEXT", "post": "CONTENT_TYPE_TEXT", "listing": "CONTENT_TYPE_PRODUCT",
}
# Reporter types that are a notice and what source they are, strongest first; anything else
# (automation, no report) is the platform's own initiative.
_SOURCES = (
    ("trusted_flagger", "SOURCE_TRUSTED_FLAGGER"),
    ("notice", "SOURCE_ARTICLE_16"),
    ("other", "SOURCE_TYPE_OTHER_NOTIFICATION"),
)
AUTOMATED_DECISIONS = {
    "fully": "AUTOMATED_DECISION_FULLY", "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not_automated": "AUTOMATED_DECISION_NOT_AUTOMATED",
}


def source_type(notices: Iterable[str]) -> str:
    """The statement's source from the kinds of notice that led to the decision: `trusted_flagger`,
    `notice` (an Art. 16 notice: a user's report with its explanation) or `other` (a report
    from support, legal, or without the notice fields); none is the platform's own initiative."""
    given = set(notices)
    return next((source for kind, source in _SOURCES if kind in given), "SOURCE_VOLUNTARY")


@dataclass(frozen=True)
class Grounds:
    """What a decision's statements share: the policy it applied and how it was reached."""

    policy_code: str
    policy_title: str
    policy_version: int
    policy_description: str
    dsa_category: str
    dsa_keywords: tuple[str, ...]
    rationale: str
    automated_detection: bool
    automated_decision: str  # the decision's own value: fully, partially, not_automated
    source_type: str

    def facts(self) -> str:
        """The rationale; without one, a plain sentence saying what was decided under what."""
        how = "automatically" if self.automated_decision == "fully" else "by our moderation team"
        return self.rationale.strip() or (
            f"This was reviewed {how} and found to break our rule \"{self.policy_title}\"."
        )


@dataclass(frozen=True)
class Restricted:
    """The one subject a statement is about, and what was done to it."""

    restriction: Mapping[str, Any]  # the decision_* field and its value, as the statement has it
    end_date_field: str
    ends_at: date | None
    subject_kind: str
    content_date: date
    language: str | None


def build(grounds: Grounds, restricted: Restricted, applied_on: date, puid: str) -> StatementOfReasons:
    """The statement of reasons for one restriction, in the Transparency Database's shape.

    Policies are the platform's terms, so the ground is incompatible content (TrustDesk's
    policies do not mark illegality yet): the ground names the policy and its version, the
    explanation is what the policy forbids (cut to the database's limit), the facts are the
    rationale. The territorial scope and account type are left out: TrustDesk does not know them.
    """
    statement: dict[str, Any] = dict(restricted.restriction)
    if restricted.ends_at is not None:
        statement[restricted.end_date_field] = restricted.ends_at.isoformat()
    content_type = CONTENT_TYPES.get(restricted.subject_kind, "CONTENT_TYPE_OTHER")
    limit = TEXT_LIMITS["incompatible_content_explanation"]
    explanation = grounds.policy_description.strip() or grounds.policy_title
    statement |= {
        "decision_facts": grounds.facts(),
        "decision_ground": _INCOMPATIBLE,
        "incompatible_content_ground": f"{grounds.policy_title} ({grounds.policy_code}, version {grounds.policy_version})",
        "incompatible_content_explanation": explanation if len(explanation) <= limit else explanation[:limit - 1] + "…",
        "content_type": [content_type],
        "category": grounds.dsa_category,
        "content_date": restricted.content_date.isoformat(),
        "application_date": applied_on.isoformat(),
        "source_type": grounds.source_type,
        "automated_detection": "Yes" if grounds.automated_detection else "No",
        "automated_decision": AUTOMATED_DECISIONS.get(grounds.automated_decision, "AUTOMATED_DECISION_NOT_AUTOMATED"),
        "puid": puid,
    }
    if content_type == "CONTENT_TYPE_OTHER":
        statement["content_type_other"] = restricted.subject_kind
    if grounds.dsa_keywords:
        statement["category_specification"] = list(grounds.dsa_keywords)
        if "KEYWORD_OTHER" in grounds.dsa_keywords:
            statement["category_specification_other"] = grounds.policy_title
    language = (restricted.language or "").split("-")[0].upper()
    if language in taxonomy.ISO_639_1_LANGUAGES:
        statement["content_language"] = language
    return StatementOfReasons(**statement)  # type: ignore[typeddict-item]
