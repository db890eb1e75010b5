"""The DSA Transparency Database's statement API, for the demo and the tests.

`POST /api/v1/statement` takes one statement of reasons (201 with the stored statement and its
`uuid`); `POST /api/v1/statements` takes `{"statements": [...]}`, 1 to 100 of them, all or none
(201 with `{"statements": [...]}`). Both need `Authorization: Bearer TOKEN` (401 otherwise) and
answer 422 `{"message", "errors": {field: [messages]}}` when a rule is broken, fields of a batch
named `statements.N.field`. A `puid` already accepted (or given twice in one batch) is refused
with 422 on `puid`; the single route also names the statement already there (`existing`).

The rules are written here from the published API documentation (docs/specs/regulatory.md §2)
and share no code with TrustDesk's own validator: a statement the product stores but this
sandbox refuses is a mistake of the product's. Fields the database does not know are ignored,
as the database ignores them.

`GET /api/v1/statements` (Bearer) lists what was accepted, oldest first. For tests of the
sender's retries, `POST /control/fail {"status": 503, "count": N}` answers the next N
submissions with that status; the control route answers loopback clients only.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timezone
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MAX_BATCH = 100
DUPLICATE_PUID = "The identifier given is not unique within this platform."
DUPLICATE_PUIDS = "The platform identifier(s) are not all unique within this call."

_DECISION_VISIBILITY = {
    "DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED", "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED", "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED", "DECISION_VISIBILITY_OTHER",
}
_DECISION_MONETARY = {"DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"}
_DECISION_PROVISION = {
    "DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION",
}
_DECISION_ACCOUNT = {"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"}
_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
_CONTENT_TYPES = {
    "CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_OTHER",
}
_SOURCE_TYPES = {"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY"}
_AUTOMATED_DECISIONS = {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"}
_CATEGORIES = {
    "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_CONSUMER_INFORMATION", "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN", "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS", "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", "STATEMENT_CATEGORY_VIOLENCE",
}
_KEYWORDS = {
    "KEYWORD_OTHER", "KEYWORD_ADULT_SEXUAL_MATERIAL", "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS", "KEYWORD_ANIMAL_HARM", "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_BULLYING_AGAINST_GIRLS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE", "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM", "KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_CYBER_HARASSMENT", "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN", "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING", "KEYWORD_CYBER_STALKING_AGAINST_WOMEN", "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION", "KEYWORD_DESIGN_INFRINGEMENT", "KEYWORD_DISCRIMINATION",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION", "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS", "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS", "KEYWORD_HATE_SPEECH", "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_HUMAN_EXPLOITATION", "KEYWORD_HUMAN_TRAFFICKING", "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "KEYWORD_INAUTHENTIC_ACCOUNTS", "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS", "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED", "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS", "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS", "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_MISSING_PROCESSING_GROUND", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN", "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN", "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_NUDITY", "KEYWORD_PATENT_INFRINGEMENT", "KEYWORD_PHISHING", "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_PYRAMID_SCHEMES", "KEYWORD_RIGHT_TO_BE_FORGOTTEN", "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH", "KEYWORD_SELF_MUTILATION", "KEYWORD_STALKING", "KEYWORD_SUICIDE",
    "KEYWORD_TERRORIST_CONTENT", "KEYWORD_TRADE_SECRET_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS", "KEYWORD_UNLAWFUL_SALE_ANIMALS", "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_UNSAFE_PRODUCTS", "KEYWORD_VIOLATION_EU_LAW", "KEYWORD_VIOLATION_NATIONAL_LAW",
}
# The EU's member states (Greece as EL, as the Commission writes it, and as GR) and the EEA's others.
_TERRITORIES = set(
    "AT BE BG CY CZ DE DK EE EL GR ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO".split()
)

_REQUIRED = (
    "decision_ground", "content_type", "category", "decision_facts", "content_date", "application_date",
    "source_type", "automated_detection", "automated_decision", "puid",
)
_DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
_MAX_LENGTH = {
    "decision_facts": 5000, "puid": 500, "illegal_content_legal_ground": 500, "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500, "incompatible_content_explanation": 2000, "decision_visibility_other": 500,
    "decision_monetary_other": 500, "content_type_other": 500, "category_specification_other": 500,
    "source_identity": 500,
}
_ONE_OF: dict[str, set[str]] = {
    "decision_monetary": _DECISION_MONETARY, "decision_provision": _DECISION_PROVISION,
    "decision_account": _DECISION_ACCOUNT, "account_type": {"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"},
    "decision_ground": {_ILLEGAL, _INCOMPATIBLE}, "category": _CATEGORIES, "source_type": _SOURCE_TYPES,
    "automated_detection": {"Yes", "No"}, "automated_decision": _AUTOMATED_DECISIONS,
}
_LIST_OF: dict[str, set[str]] = {
    "decision_visibility": _DECISION_VISIBILITY, "content_type": _CONTENT_TYPES,
    "category_specification": _KEYWORDS, "territorial_scope": _TERRITORIES,
}
_DATES = (
    "content_date", "application_date", "end_date_visibility_restriction", "end_date_monetary_restriction",
    "end_date_service_restriction", "end_date_account_restriction",
)
_PUID = re.compile(r"^[a-zA-Z0-9-_]+$")
_YMD = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE = re.compile(r"^[A-Z]{2}$")


def _given(value: object) -> bool:
    return value not in (None, "", [], {}) and not (isinstance(value, str) and not value.strip())


def _needs(statement: Mapping[str, Any], field: str, when: str) -> Iterator[tuple[str, str]]:
    if not _given(statement.get(field)):
        yield field, f"The {field} field is required when {when}."


def statement_errors(statement: object) -> dict[str, list[str]]:
    """What the database would say about one statement: field → messages; empty when accepted."""
    if not isinstance(statement, dict):
        return {"statement": ["The statement must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    for field, message in _problems(statement):
        errors.setdefault(field, []).append(message)
    return errors


def _problems(s: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for field in _REQUIRED:
        if not _given(s.get(field)):
            yield field, f"The {field} field is required."
    if not any(_given(s.get(field)) for field in _DECISIONS):
        yield "decision_visibility", "At least one of decision_visibility, decision_monetary, decision_provision or decision_account is required."
    for field, limit in _MAX_LENGTH.items():
        value = s.get(field)
        if value is not None and not isinstance(value, str):
            yield field, f"The {field} field must be a string."
        elif isinstance(value, str) and len(value) > limit:
            yield field, f"The {field} field must not be greater than {limit} characters."
    for field, allowed in _ONE_OF.items():
        value = s.get(field)
        if _given(value) and value not in allowed:
            yield field, f"The selected {field} is invalid."
    for field, allowed in _LIST_OF.items():
        value = s.get(field)
        if value is None:
            continue
        if not isinstance(value, list):
            yield field, f"The {field} field must be an array."
        elif any(not isinstance(item, str) or item not in allowed for item in value):
            yield field, f"The selected {field} is invalid."
    for field in _DATES:
        value = s.get(field)
        if _given(value) and not _is_date(value):
            yield field, f"The {field} does not match the format Y-m-d."
    language = s.get("content_language")
    if _given(language) and not (isinstance(language, str) and _LANGUAGE.match(language)):
        yield "content_language", "The selected content_language is invalid."
    puid = s.get("puid")
    if isinstance(puid, str) and _given(puid) and not _PUID.match(puid):
        yield "puid", "The puid format is invalid."
    ground = s.get("decision_ground")
    if ground == _ILLEGAL:
        yield from _needs(s, "illegal_content_legal_ground", "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT")
        yield from _needs(s, "illegal_content_explanation", "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT")
    if ground == _INCOMPATIBLE:
        yield from _needs(s, "incompatible_content_ground", "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT")
        yield from _needs(s, "incompatible_content_explanation", "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT")
    if _listed(s, "decision_visibility", "DECISION_VISIBILITY_OTHER"):
        yield from _needs(s, "decision_visibility_other", "decision_visibility is DECISION_VISIBILITY_OTHER")
    if s.get("decision_monetary") == "DECISION_MONETARY_OTHER":
        yield from _needs(s, "decision_monetary_other", "decision_monetary is DECISION_MONETARY_OTHER")
    if _listed(s, "content_type", "CONTENT_TYPE_OTHER"):
        yield from _needs(s, "content_type_other", "content_type is CONTENT_TYPE_OTHER")
    if _listed(s, "category_specification", "KEYWORD_OTHER"):
        yield from _needs(s, "category_specification_other", "category_specification is KEYWORD_OTHER")


def _listed(s: Mapping[str, Any], field: str, value: str) -> bool:
    items = s.get(field)
    return isinstance(items, list) and value in items


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _YMD.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


class DsaState:
    """The statements accepted so far, by puid, and any failure injected; one lock guards both."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._accepted: dict[str, dict[str, Any]] = {}
        self._failures: list[int] = []

    def fail(self, status: int, count: int) -> None:
        with self._lock:
            self._failures = [status] * count

    def take_failure(self) -> int | None:
        with self._lock:
            return self._failures.pop() if self._failures else None

    def existing(self, puid: str) -> dict[str, Any] | None:
        with self._lock:
            return self._accepted.get(puid)

    def accept(self, statements: list[dict[str, Any]]) -> tuple[list[dict[str, Any]] | None, list[str]]:
        """Store every statement or none: those stored, or the puids stored already or repeated."""
        with self._lock:
            seen: set[str] = set()
            duplicates = []
            for statement in statements:
                if statement["puid"] in self._accepted or statement["puid"] in seen:
                    duplicates.append(statement["puid"])
                seen.add(statement["puid"])
            if duplicates:
                return None, duplicates
            stored = []
            for statement in statements:
                row = {**statement, "uuid": str(uuid.uuid4()), "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
                self._accepted[statement["puid"]] = row
                stored.append(row)
            return stored, []

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._accepted.values())


def _refused(errors: dict[str, list[str]], **extra: Any) -> JSONResponse:
    first = next(iter(errors.values()))[0]
    more = sum(len(m) for m in errors.values()) - 1
    message = first + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")
    return JSONResponse({"message": message, "errors": errors, **extra}, 422)


def _loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def create_dsa_app(state: DsaState) -> FastAPI:
    app = FastAPI(title="DSA Transparency Database sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    def authorised(request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), state.token.encode())

    async def body_of(request: Request) -> tuple[Any, JSONResponse | None]:
        if not authorised(request):
            return None, JSONResponse({"message": "Unauthenticated."}, 401)
        failure = state.take_failure()
        if failure is not None:
            return None, JSONResponse({"message": "failing on purpose"}, failure)
        try:
            return json.loads(await request.body()), None
        except (ValueError, RecursionError):
            return None, JSONResponse({"message": "The body is not JSON."}, 400)

    @app.post("/api/v1/statement")
    async def one(request: Request) -> JSONResponse:
        statement, answer = await body_of(request)
        if answer is not None:
            return answer
        errors = statement_errors(statement)
        if errors:
            return _refused(errors)
        stored, _duplicates = state.accept([statement])
        if stored is None:
            return _refused({"puid": [DUPLICATE_PUID]}, existing=state.existing(statement["puid"]))
        return JSONResponse(stored[0], 201)

    @app.post("/api/v1/statements")
    async def many(request: Request) -> JSONResponse:
        body, answer = await body_of(request)
        if answer is not None:
            return answer
        statements = body.get("statements") if isinstance(body, dict) else None
        if not isinstance(statements, list) or not statements:
            return _refused({"statements": ["The statements field is required and must be a non-empty array."]})
        if len(statements) > MAX_BATCH:
            return _refused({"statements": [f"The statements field must not have more than {MAX_BATCH} items."]})
        # As the database answers: every invalid statement by its index, its errors by field, and
        # nothing stored; then, for platform ids stored already or repeated, those ids.
        invalid = {f"statement_{index}": found for index, statement in enumerate(statements) if (found := statement_errors(statement))}
        if invalid:
            return JSONResponse({"errors": invalid}, 422)
        stored, duplicates = state.accept(statements)
        if stored is None:
            return JSONResponse({"message": DUPLICATE_PUIDS, "errors": {"puid": [DUPLICATE_PUIDS], "existing_puids": duplicates}}, 422)
        return JSONResponse({"statements": stored}, 201)

    @app.get("/api/v1/statements")
    def listing(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"message": "Unauthenticated."}, 401)
        return JSONResponse({"statements": state.listing()})

    @app.post("/control/fail")
    async def fail(request: Request) -> JSONResponse:
        if not _loopback(request):
            return JSONResponse({"message": "the control route answers loopback clients only"}, 403)
        spec = await request.json()
        status, count = spec.get("status", 503), spec.get("count", 1)
        if not (isinstance(status, int) and 500 <= status <= 599 and isinstance(count, int) and 1 <= count <= 1000):
            return JSONResponse({"message": "status is 500-599, count 1-1000"}, 422)
        state.fail(status, count)
        return JSONResponse({"failing": count, "status": status})

    return app


def run_dsa(host: str, port: int, token: str) -> None:
    """Serve the sandbox until interrupted."""
    print(f"DSA Transparency Database sandbox on http://{host}:{port}/api/v1/ ; Bearer token {token}")
    uvicorn.run(create_dsa_app(DsaState(token)), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
