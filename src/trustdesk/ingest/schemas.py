"""The intake contract: what the host platform sends, shared by the API and the bulk import.

Unknown fields are refused (`extra="forbid"`) so a typo in a field name is a 422 naming it
rather than silently lost data.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trustdesk.domain.client_input import Count, Moment
from trustdesk.domain.vocabulary import (
    AccountEventKind,
    ReporterType,
    SubjectKind,
    Visibility,
)

ExternalId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https?://")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def body_hash(self) -> str:
        """Identifies the content of a submission, so a retry can be told from a conflict."""
        return hashlib.sha256(orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


class Reach(_Strict):
    followers: Count | None = None
    views: Count | None = None
    sales: Count | None = None


# A BCP 47 language tag, as a subject is created and updated with.
Language = Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$")]


class PersonalFields(_Strict):
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40)
    display_name: str | None = Field(default=None, max_length=200)


class SubjectIn(_Strict):
    external_id: ExternalId
    kind: SubjectKind
    parent_external_id: ExternalId | None = None
    account_external_id: ExternalId | None = Field(
        default=None, description="The owning account; defaults to the parent's account."
    )
    title: str | None = Field(default=None, max_length=500)
    text: str | None = Field(default=None, max_length=100_000)
    url: Url | None = None
    language: Language | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    region: str | None = Field(default=None, max_length=16)
    locale: str | None = Field(default=None, max_length=32)
    visibility: Visibility = Visibility.VISIBLE
    reach: Reach = Field(default_factory=Reach)
    personal: PersonalFields = Field(default_factory=PersonalFields)
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)
    media_url: Url | None = Field(default=None, description="Fetched only from allow-listed hosts.")
    created_at: Moment | None = None


class SubjectUpdate(_Strict):
    """Fields an explicit update may change; absent fields keep their value."""

    title: str | None = Field(default=None, max_length=500)
    text: str | None = Field(default=None, max_length=100_000)
    url: Url | None = None
    language: Language | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    region: str | None = Field(default=None, max_length=16)
    locale: str | None = Field(default=None, max_length=32)
    visibility: Visibility | None = None
    reach: Reach | None = None
    personal: PersonalFields | None = None
    attributes: dict[str, Any] | None = Field(default=None, max_length=100)

    @field_validator("visibility", "reach", "personal", "attributes", mode="before")
    @classmethod
    def _given_not_null(cls, value: Any) -> Any:
        """These always hold a value (an empty one at most): sent as null, they are refused, not stored as nothing."""
        if value is None:
            raise ValueError("may not be null: leave it out to keep what is there")
        return value


class DsaNotice(_Strict):
    """DSA Art. 16 notice fields; name and email may be absent (anonymous notices)."""

    explanation: str | None = Field(default=None, max_length=5000)
    location_url: Url | None = None
    notifier_name: str | None = Field(default=None, max_length=200)
    notifier_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    good_faith: bool = False


class ReportIn(_Strict):
    external_id: ExternalId
    subject_external_id: ExternalId
    policy_code: str = Field(min_length=1, max_length=64)
    reporter_type: ReporterType
    reporter_external_id: ExternalId | None = Field(default=None, description="The reporting account, if a user.")
    text: str | None = Field(default=None, max_length=5000)
    dsa: DsaNotice = Field(default_factory=DsaNotice)
    imminent_harm: bool = False
    reported_at: Moment | None = None


class AccountEventIn(_Strict):
    external_id: ExternalId
    account_external_id: ExternalId
    kind: AccountEventKind
    occurred_at: Moment
    ip: str | None = None
    device_id: str | None = Field(default=None, max_length=200)
    payment_fingerprint: str | None = Field(default=None, max_length=200)
    phone_hash: str | None = Field(default=None, max_length=200)
    amount_cents: Count | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)

    @field_validator("ip")
    @classmethod
    def _valid_ip(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_address(value))


class SubjectBatch(_Strict):
    items: list[SubjectIn] = Field(min_length=1, max_length=1000)


class ReportBatch(_Strict):
    items: list[ReportIn] = Field(min_length=1, max_length=1000)


class AccountEventBatch(_Strict):
    items: list[AccountEventIn] = Field(min_length=1, max_length=1000)


class EvaluationContext(_Strict):
    """What the host platform knows about a synchronous check besides the content."""

    policy_code: str | None = Field(default=None, min_length=1, max_length=64,
                                    description="The policy the content is checked against, if one; rules see it as `event.policy`.")
    source: str = Field(default="", max_length=64, description="Where the check comes from, e.g. `pre_publication`; `event.source`.")


class EvaluateIn(SubjectIn):
    """A subject as the subjects API takes it, with the context of the check."""

    context: EvaluationContext = Field(default_factory=EvaluationContext)

    def subject(self) -> SubjectIn:
        return SubjectIn.model_construct(**{name: getattr(self, name) for name in SubjectIn.model_fields})


class EvaluateBatch(_Strict):
    items: list[EvaluateIn] = Field(min_length=1, max_length=1000)


class Receipt(BaseModel):
    """What the host platform gets back; for a report, the DSA Art. 16 confirmation of receipt."""

    id: int
    external_id: str
    received_at: datetime
    status: str = Field(description="`created`, or `existing` for an identical retry")


class Receipts(BaseModel):
    items: list[Receipt]
