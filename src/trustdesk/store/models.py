"""SQLAlchemy models: the current-state tables the console reads, plus the audit log.

Columns that hold JSON use the portable `JSON` type so that SQLite and PostgreSQL share one
schema. All times are stored in UTC and read back timezone-aware (`UtcDateTime`), on both.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from trustdesk.domain.vocabulary import CaseKind, CommentVisibility, EscalationStatus

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
# The largest value a BIGINT column (every id) holds.
MAX_BIGINT = 2**63 - 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back with its offset on both databases.

    SQLite keeps no offset: a time with one would be stored as its local clock reading, and
    every time would come back naive, so the API would show it without `Z`. A naive time given
    here is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value).astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value).astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class App(Base):
    """One of the organisation's products (a dating app, a marketplace)."""

    __tablename__ = "apps"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # How notices to the people a decision concerns leave: `webhook` (the host platform sends
    # them) or `smtp` (TrustDesk mails them).
    notice_channel: Mapped[str] = mapped_column(String(16), default="webhook", server_default="webhook")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiClient(Base):
    """A bearer token, stored only as a hash: a host-platform integration scoped to one app,
    or a staff member's personal token for automation, which acts with that member's roles."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id"), default=None)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    name: Mapped[str] = mapped_column(String(200))
    token_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    skills: Mapped[dict[str, Any]] = mapped_column(default=dict)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    # The last TOTP time step accepted: a code of that step or an earlier one is never taken again.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffSession(Base):
    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    user: Mapped[StaffUser] = relationship()


class LoginThrottle(Base):
    """Failed logins in a row for one username (as typed) from one address, and its lock."""

    __tablename__ = "login_throttles"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class RateLimit(Base):
    """A fixed-window counter shared by every process (login attempts, API calls)."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class Policy(Base):
    """One version of a policy; editing makes a new row and moves `is_current`."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("code", "version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(default=1)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id"), default=None)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[int] = mapped_column()
    allowed_actions: Mapped[list[Any]] = mapped_column(default=list)
    dsa_category: Mapped[str] = mapped_column(String(100))
    dsa_keywords: Mapped[list[Any]] = mapped_column(default=list)
    ncmec_incident_type: Mapped[str | None] = mapped_column(String(200), default=None)
    graphic: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    # How a reviewer checks the policy, shown beside the decision tree on the case page.
    guidance: Mapped[str] = mapped_column(Text, default="")
    # Guides reviewers to a verdict; None means the generated default tree for the policy.
    decision_tree: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Written by the catalogue, not by an admin: `db upgrade` may move it on to a newer catalogue.
    from_catalogue: Mapped[bool] = mapped_column(Boolean, default=False)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subject(Base):
    """An account or a content item on the host platform, in a parent/child tree."""

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("app_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True, active_history=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True, default=None)
    # The account that owns this item (itself for an account), for history and erasure.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True, default=None)
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    region: Mapped[str | None] = mapped_column(String(16), default=None)
    locale: Mapped[str | None] = mapped_column(String(32), default=None)
    visibility: Mapped[str] = mapped_column(String(32), default="visible")
    reach: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # email, phone, display name: shown only on an audited reveal.
    personal: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The media URL the host platform declared (part of what identifies a retry); what was
    # fetched from it, like every upload, is a `MediaItem`.
    media_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When TrustDesk's copy of the subject's personal data went (`trustdesk.privacy.deletion`).
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    media_items: Mapped[list[MediaItem]] = relationship(order_by="MediaItem.position", viewonly=True)


class MediaItem(Base):
    """One media file of a subject, with what its bytes were found to be.

    `content_type` and `kind` come from the bytes, never from the client, and only `inline`
    items are ever shown in the console; the rest are offered as downloads. A URL to fetch is
    an item from the start (`pending`), so a fetch that finds no acceptable media can say why.
    """

    __tablename__ = "media_items"
    __table_args__ = (
        UniqueConstraint("subject_id", "position"),
        # The same bytes attach to a subject once: an upload sent again is the same item.
        UniqueConstraint("subject_id", "blob_sha256"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    position: Mapped[int] = mapped_column()
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True, default=None)
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    status: Mapped[str] = mapped_column(String(16))
    refused_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    hashes: Mapped[list[MediaHash]] = relationship(order_by="MediaHash.algorithm", viewonly=True)


class MediaHash(Base):
    """A hash of a media item's bytes (MD5, SHA-256; perceptual hashes such as PDQ later),
    indexed by value so a known file is found on any subject."""

    __tablename__ = "media_hashes"
    __table_args__ = (Index("ix_media_hashes_value", "algorithm", "value"),)
    media_item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class Signal(Base):
    """What an analyser found on a subject: a label with a score or a match, and its evidence.

    A signal is stored once per (subject, analyser, label, model version, content): running the
    same analyser version again on unchanged content adds nothing (the unique key, inserted with
    ON CONFLICT DO NOTHING), while new content or a new model adds rows beside the old ones. The
    key leads with the subject, so it is also the index that reads a subject's signals.
    """

    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("subject_id", "analyser", "label", "model_version", "content_hash", name="uq_signals_once"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    analyser: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(default=None)
    match: Mapped[str | None] = mapped_column(String(500), default=None)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_version: Mapped[str] = mapped_column(String(64))
    # The subject's body hash and media bytes as analysed (`SubjectView.content_hash`).
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A flag on a subject, with the DSA Art. 16 notice fields."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("app_id", "external_id"),
        Index("ix_reports_status_policy", "status", "policy_code"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), default=None)
    external_id: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    policy_code: Mapped[str] = mapped_column(String(64), active_history=True)
    reporter_type: Mapped[str] = mapped_column(String(32))
    reporter_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    dsa_explanation: Mapped[str | None] = mapped_column(Text, default=None)
    dsa_location_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    notifier_name: Mapped[str | None] = mapped_column(String(200), default=None)
    notifier_email: Mapped[str | None] = mapped_column(String(320), default=None)
    good_faith: Mapped[bool] = mapped_column(Boolean, default=False)
    imminent_harm: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open", active_history=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountEvent(Base):
    """A login, registration or purchase, with the identifiers investigations link on."""

    __tablename__ = "account_events"
    __table_args__ = (UniqueConstraint("app_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    device_id: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    payment_fingerprint: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    phone_hash: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body_hash: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentifierDigest(Base):
    """A keyed digest of a personal identifier (email, phone, IP, device id, payment fingerprint,
    phone hash) and the subject or report that carries it, so search finds an exact value
    without the value being compared, or kept here, in clear. Written at intake."""

    __tablename__ = "identifier_digests"
    # The primary key's leading (kind, digest) is the lookup index.
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class Blob(Base):
    """A stored file, named by its SHA-256 in the blob store."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One moderation step; never updated or deleted through the code."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tx", "tx_id", "position"),
        Index("ix_audit_events_object", "object_type", "object_id"),
        Index("ix_audit_events_actor", "actor_type", "actor_id", "id"),  # someone's latest steps (their home page)
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column()
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(200))
    verb: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    person_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    at: Mapped[datetime] = mapped_column(index=True)
    event_hash: Mapped[str] = mapped_column(String(64))


class AuditBlock(Base):
    """The events of one transaction, hashed together and chained to the previous block."""

    __tablename__ = "audit_blocks"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tx_id: Mapped[str] = mapped_column(String(32), unique=True)
    event_count: Mapped[int] = mapped_column()
    prev_hash: Mapped[str] = mapped_column(String(64))
    block_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column()


class AuditChainHead(Base):
    """A single row locked while a block is sealed, so concurrent commits cannot fork."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(64))


class PersonKey(Base):
    """The data key for one person's data in the audit log; erasure destroys it."""

    __tablename__ = "person_keys"
    person_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(default=None)


_WAITING_OR_RUNNING = text("status IN ('queued', 'running')")


class Job(Base):
    """Background work, claimed by one worker at a time under a lease."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_at"),
        # At most one queued or running job per singleton key (recurring jobs, one-at-a-time work).
        Index("uq_jobs_singleton", "singleton_key", unique=True,
              sqlite_where=_WAITING_OR_RUNNING, postgresql_where=_WAITING_OR_RUNNING),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    singleton_key: Mapped[str | None] = mapped_column(String(200), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Queue(Base):
    """Where cases wait for reviewers; routing expressions are tried in `position` order."""

    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=100)
    routing_expression: Mapped[str | None] = mapped_column(Text, default=None)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_minutes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    required_roles: Mapped[list[Any]] = mapped_column(default=list)
    required_languages: Mapped[list[Any]] = mapped_column(default=list)
    graphic: Mapped[bool] = mapped_column(Boolean, default=False)
    exposure_limit_per_hour: Mapped[int | None] = mapped_column(default=None)
    # Cases this close to breach move to the escalation queue (None: never).
    escalate_minutes_before_breach: Mapped[int | None] = mapped_column(default=None)
    escalation_queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The escalation tier (`CaseTier`) whose queue this is; None for a routed queue. One queue per tier.
    tier: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


TIER_QUEUE = text("tier IS NOT NULL")
Index("uq_queues_tier", Queue.tier, unique=True, sqlite_where=TIER_QUEUE, postgresql_where=TIER_QUEUE)
ACTIVE_DEFAULT_QUEUE = text("is_default AND active")
Index("uq_queues_default", Queue.is_default, unique=True, sqlite_where=ACTIVE_DEFAULT_QUEUE, postgresql_where=ACTIVE_DEFAULT_QUEUE)


class Case(Base):
    """The open reports on one subject, waiting in a queue; one reviewer holds it at a time."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_subject_status", "subject_id", "status"),
        Index("ix_cases_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), active_history=True)
    kind: Mapped[str] = mapped_column(String(32), default=CaseKind.REPORT.value, server_default=CaseKind.REPORT.value)
    status: Mapped[str] = mapped_column(String(16), default="open", active_history=True)
    band: Mapped[str] = mapped_column(String(4), active_history=True)
    priority_score: Mapped[float] = mapped_column()
    priority_reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imminent_harm: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(default=0)
    policy_code: Mapped[str] = mapped_column(String(64))
    # None: in its routed queue; otherwise the escalation tier (`CaseTier`) whose queue holds it.
    tier: Mapped[str | None] = mapped_column(String(32), default=None)
    routed_by: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime] = mapped_column()
    breached_at: Mapped[datetime | None] = mapped_column(default=None, active_history=True)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True, default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # When the current holder took it: renewals never carry a lease past the maximum hold from here.
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # Put on by rules (`label` effects), for queues, search and reports.
    labels: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # A legal duty's deadline (`trustdesk.domain.legal_deadlines`): privacy and law-enforcement
    # requests; their `due_at` follows it, so queues and breach alerts read the legal clock. On a
    # confirmed child-safety case, the CyberTipline filing still due (`trustdesk.ncmec.filing_deadline`).
    legal_due_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the SLA sweep found a filing still due past `legal_due_at` (the case itself is decided).
    legal_breached_at: Mapped[datetime | None] = mapped_column(default=None)


# "Next case" reads this index in order: highest score first, then the earliest due time.
Index("ix_cases_next", Case.queue_id, Case.status, Case.priority_score.desc(), Case.due_at)
# A subject has at most one open report case: concurrent first reports insert with ON CONFLICT
# on this index and the ones that lose join the winner's case (`trustdesk.cases.routing`).
OPEN_REPORT_CASE = text("status = 'open' AND kind = 'report'")
Index("uq_cases_open_report", Case.subject_id, unique=True, sqlite_where=OPEN_REPORT_CASE, postgresql_where=OPEN_REPORT_CASE)
# The few claimed cases, by queue, for the queue list's live "claimed" count.
_CLAIMED = Case.claimed_by.is_not(None)
Index("ix_cases_claimed", Case.queue_id, sqlite_where=_CLAIMED, postgresql_where=_CLAIMED)
# The few cases with a legal deadline, for the breach sweep and the child-safety dashboard.
_LEGAL_DUE = Case.legal_due_at.is_not(None)
Index("ix_cases_legal_due", Case.legal_due_at, sqlite_where=_LEGAL_DUE, postgresql_where=_LEGAL_DUE)


class CaseSubject(Base):
    """The subjects a case concerns: a report case's one subject; a law-enforcement request's many."""

    __tablename__ = "case_subjects"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True, index=True)


class QueueCounter(Base):
    """Open and breached cases of one queue and band, kept current by `trustdesk.store.counters`."""

    __tablename__ = "queue_counters"
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True)
    band: Mapped[str] = mapped_column(String(4), primary_key=True)
    open: Mapped[int] = mapped_column(BigInteger, default=0)
    breached: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportCounter(Base):
    """Open reports under one policy code, kept current by `trustdesk.store.counters`."""

    __tablename__ = "report_counters"
    policy_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    open: Mapped[int] = mapped_column(BigInteger, default=0)


class SubjectCounter(Base):
    """Subjects of one kind, kept current by `trustdesk.store.counters`."""

    __tablename__ = "subject_counters"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
# The queue view's other orders (due soonest, oldest or newest first), read a page at a time.
Index("ix_cases_queue_due", Case.queue_id, Case.status, Case.due_at)
Index("ix_cases_queue_age", Case.queue_id, Case.status, Case.created_at)


class CaseSkip(Base):
    """A reviewer's "not now" on a case: "next case" does not serve it to them again until `until`.

    Kept in the database, so a skip holds across tabs, processes and hosts; other reviewers
    still get the case.
    """

    __tablename__ = "case_skips"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    until: Mapped[datetime] = mapped_column()


class Decision(Base):
    """A reviewer's (or rule's) verdict under one policy version, with its actions."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True, default=None)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    policy_code: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column()
    verdict: Mapped[str] = mapped_column(String(16))
    actions: Mapped[list[Any]] = mapped_column(default=list)
    rationale: Mapped[str] = mapped_column(Text, default="")
    tree_path: Mapped[list[Any]] = mapped_column(default=list)
    time_spent_ms: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(16), default="review")
    automated_detection: Mapped[bool] = mapped_column(Boolean, default=False)
    automated_decision: Mapped[str] = mapped_column(String(16), default="not_automated")
    # An appeal's or second opinion's decision judges this earlier one.
    judges_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True, default=None)
    bulk_operation_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_operations.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnforcementAction(Base):
    """One action on one subject; cascaded actions point at the action that caused them."""

    __tablename__ = "enforcement_actions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True, default=None)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    visibility_before: Mapped[str | None] = mapped_column(String(32), default=None)
    visibility_after: Mapped[str | None] = mapped_column(String(32), default=None)
    cascade_of: Mapped[int | None] = mapped_column(ForeignKey("enforcement_actions.id"), index=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    undone_by: Mapped[str | None] = mapped_column(String(200), default=None)


class StatementOfReasons(Base):
    """The DSA statement of reasons (Art. 17) of one restricting action, stored when it is
    decided, as the Transparency Database's object (`body`, its field names verbatim). `puid`
    is the platform's unique id for it in that database: unique per app."""

    __tablename__ = "statements_of_reasons"
    __table_args__ = (UniqueConstraint("app_id", "puid"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    puid: Mapped[str] = mapped_column(String(500))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("enforcement_actions.id"), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its submission to the Transparency Database (`trustdesk.dsa.submission`): pending until the
    # database answers; then accepted (with the database's uuid), already there (a duplicate puid)
    # or refused (with the database's errors per field).
    submission: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    dsa_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    submission_errors: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


Index("ix_statements_of_reasons_submission", StatementOfReasons.submission, StatementOfReasons.id)


class Appeal(Base):
    """An appeal of a decision by the user it concerns or by the notifier whose notice it turned
    down (DSA Art. 20), decided in a case of kind `appeal` by someone other than the reviewer
    of the decision appealed. Idempotent by (app, external id); a decision has at most one open
    appeal (the partial unique index below)."""

    __tablename__ = "appeals"
    __table_args__ = (UniqueConstraint("app_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    # The host platform's id for the appeal; None for one staff filed in the console.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    appellant: Mapped[str] = mapped_column(String(16))
    statement: Mapped[str] = mapped_column(Text, default="")
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    # A notifier's appeal: the notice whose "no violation" it contests.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True, default=None)
    # Who made the decision appealed: never served, assigned or allowed to decide the appeal.
    original_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    # The appeal's own decision (kind `appeal`), which judges `decision_id`.
    outcome_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    filed_by: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# A decision has at most one appeal waiting for its outcome: appeals filed together insert with
# ON CONFLICT and all but one find the open one (`trustdesk.enforcement.appeals`).
OPEN_APPEAL = text("outcome IS NULL")
Index("uq_appeals_open_decision", Appeal.decision_id, unique=True, sqlite_where=OPEN_APPEAL, postgresql_where=OPEN_APPEAL)


class Strike(Base):
    __tablename__ = "strikes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), default=None)
    policy_code: Mapped[str] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class CaseComment(Base):
    __tablename__ = "case_comments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(Text)
    # `requester`: a note the requester of an escalation filed through the API may read.
    visibility: Mapped[str] = mapped_column(String(16), default=CommentVisibility.INTERNAL.value,
                                            server_default=CommentVisibility.INTERNAL.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    """A case handed up to a tier: why, how urgent, by whom, and how it came back.

    `from_queue_id` is the routed queue the case goes back to when de-escalated (an escalation
    on to another tier keeps the one the first escalation came from). One filed through the API
    by a host platform's CX or support staff carries the client's `external_id` (idempotent,
    like every write of the API) and the requester's reference; the requester reads its status,
    the notes meant for them and the outcome.
    """

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("app_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    tier: Mapped[str] = mapped_column(String(32))
    from_queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.OPEN.value)
    escalated_by: Mapped[str] = mapped_column(String(200))
    escalated_at: Mapped[datetime] = mapped_column(default=utcnow)
    de_escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    de_escalated_by: Mapped[str | None] = mapped_column(String(200), default=None)
    de_escalation_note: Mapped[str | None] = mapped_column(Text, default=None)
    # Imminent harm only (DSA Art. 18): whether the authorities were notified, and when.
    authorities_notified: Mapped[bool | None] = mapped_column(Boolean, default=None)
    authorities_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id"), default=None)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), default=None)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    requester_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    body_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the requester is told once the case is decided: the verdict, and when.
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    outcome_at: Mapped[datetime | None] = mapped_column(default=None)


OPEN_ESCALATION = text("status = 'open'")
Index("uq_escalations_open", Escalation.case_id, unique=True, sqlite_where=OPEN_ESCALATION, postgresql_where=OPEN_ESCALATION)


class NotifierRecord(Base):
    """How a notifier's past notices were judged (reporter trust, DSA Art. 23(2) measures)."""

    __tablename__ = "notifier_records"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    founded: Mapped[int] = mapped_column(default=0)
    unfounded: Mapped[int] = mapped_column(default=0)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    deprioritised_until: Mapped[datetime | None] = mapped_column(default=None)
    suspended_until: Mapped[datetime | None] = mapped_column(default=None)
    # The unfounded count when the last measure was taken: the next step counts from here.
    unfounded_at_measure: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueOptOut(Base):
    """A reviewer stepping out of a graphic queue, without penalty, until they step back in."""

    __tablename__ = "queue_opt_outs"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)


class BulkOperation(Base):
    """One decision applied to many subjects by the worker, with a result per item; or the undo
    of such an operation (`undo_of`), which withdraws what each of its items applied."""

    __tablename__ = "bulk_operations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="decision")
    # An operation is undone at most once: the database keeps to it.
    undo_of: Mapped[int | None] = mapped_column(ForeignKey("bulk_operations.id"), unique=True, default=None)
    requested_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(default=0)
    succeeded: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class BulkItem(Base):
    """One subject of a bulk operation, as it was given (an id, or an app's external id), and
    what became of it: applied (undone), skipped with the reason, or failed with the error."""

    __tablename__ = "bulk_items"
    operation_id: Mapped[int] = mapped_column(ForeignKey("bulk_operations.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(300))
    # None when the reference matched no subject the requester may see.
    subject_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    # The decision the item made (an undo item: the decision it withdraws).
    decision_id: Mapped[int | None] = mapped_column(BigInteger, default=None)


class WebhookEndpoint(Base):
    """Where an app's host platform receives action events; the signing secret is stored
    encrypted (each attempt is signed with it, so a hash would not do)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class SubjectSequence(Base):
    """The last event sequence number given for one subject: raised with an upsert, so it only
    goes up however many transactions write events for the subject at once."""

    __tablename__ = "subject_sequences"
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(BigInteger)


_PENDING = text("state = 'pending'")


class OutboxMessage(Base):
    """One event for one endpoint, written in the transaction of the change it announces, and
    its delivery: pending (with attempts and the next one due), delivered, dead or cancelled."""

    __tablename__ = "outbox"
    __table_args__ = (
        # What the sender claims: pending rows by when they are due.
        Index("ix_outbox_due", "next_attempt_at", sqlite_where=_PENDING, postgresql_where=_PENDING),
        # An endpoint's pending rows for a subject, oldest first: they are delivered in that order.
        Index("ix_outbox_subject_order", "endpoint_id", "subject_id", "id", sqlite_where=_PENDING, postgresql_where=_PENDING),
        Index("ix_outbox_state", "state", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("enforcement_actions.id"), index=True, default=None)
    # A `notice.requested` event: the notice it hands to the host platform.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True, default=None)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender holds the row while it posts; a sender that died lets it go when this passes.
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """A message to a person a decision concerns (the user, a notifier, an appellant, the
    requester of an escalation) or a staff reply, as rendered when it was written: what was
    sent stays on record. Written in the transaction of the decision it tells of."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # Who it is for: a role, and the reference the host platform (or the mailer) reaches them by.
    recipient_role: Mapped[str] = mapped_column(String(16))
    recipient_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True, default=None)
    recipient_report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True, default=None)
    recipient_escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), default=None)
    recipient_address: Mapped[str | None] = mapped_column(String(320), default=None)
    # The subject the notice is about: its events share that subject's sequence.
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    locale: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    subject_line: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True, default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    # The restriction's stored statement of reasons (no foreign key until statements exist).
    statement_of_reasons_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Why it failed, or why it was withheld.
    error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedRationale(Base):
    """A sentence reviewers often write under one policy, offered as a one-click fill of the
    decision's rationale. Kept per policy code, so it outlives the policy's versions."""

    __tablename__ = "canned_rationales"
    __table_args__ = (Index("ix_canned_rationales_policy", "policy_code", "position"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    policy_code: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=100)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplyTemplate(Base):
    """A reply staff send to a person by email, on an app store review or on social media; its
    words per locale are `ReplyTemplateText` rows. Deactivated, not deleted: uses point at it."""

    __tablename__ = "reply_templates"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    # How to say it, shown to staff beside the text; never sent.
    tone: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplyTemplateText(Base):
    """One locale's version of a reply template: a subject line (email only) and the body, both
    sandboxed Jinja over the placeholders of `trustdesk.domain.replies.PLACEHOLDERS`."""

    __tablename__ = "reply_template_texts"
    template_id: Mapped[int] = mapped_column(ForeignKey("reply_templates.id"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)


class CaseReply(Base):
    """A reply used on a case: the final text as staff sent or copied it, and how it left."""

    __tablename__ = "case_replies"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("reply_templates.id"))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    # `copied`: staff pasted it themselves; `sent`: queued as a notice of kind `reply`.
    delivery: Mapped[str] = mapped_column(String(16))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)
    sent_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HashBank(Base):
    """A list of known-bad media hashes (CSAM, terrorist content, NCII, scam images …) with
    what a match means: its PDQ threshold and the action it calls for (none: review only)."""

    __tablename__ = "hash_banks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    pdq_threshold: Mapped[int] = mapped_column(default=31)
    policy_code: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str | None] = mapped_column(String(32), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BankHash(Base):
    """One hash in a bank. Removal is soft (`removed_at`), so workers see it go; a value is in a
    bank once while not removed (a partial unique index), and may be added again after removal."""

    __tablename__ = "bank_hashes"
    __table_args__ = (
        Index("uq_bank_hashes_live", "bank_id", "algorithm", "value", unique=True,
              sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL")),
        Index("ix_bank_hashes_removed_at", "removed_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("hash_banks.id"))
    algorithm: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))  # lower-case hex
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class Rule(Base):
    """A rule by name; what it says is its current version (`rule_versions`), never edited in place."""

    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleVersion(Base):
    """One saved version of a rule: its mode, condition and effects, immutable once written, so
    that a hit and a backtest always name exactly what was evaluated."""

    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    version: Mapped[int] = mapped_column()
    mode: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    expression: Mapped[str] = mapped_column(Text)
    effects: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(16))  # console, api, cli or file
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleEvaluation(Base):
    """What routing and the rules saw for one event (a report, new signals, a synchronous
    check), kept so that a backtest replays exactly what happened; and what went wrong."""

    __tablename__ = "rule_evaluations"
    __table_args__ = (Index("ix_rule_evaluations_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True, default=None)
    trigger: Mapped[str] = mapped_column(String(16))  # report, signals, evaluate
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Expressions that failed on these inputs: [{"source": "rule"|"queue", "name", "error"}].
    errors: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleHit(Base):
    """A rule version whose condition held on an evaluation's inputs, in the mode it then had."""

    __tablename__ = "rule_hits"
    __table_args__ = (Index("ix_rule_hits_rule_created", "rule_id", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("rule_evaluations.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"))
    mode: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextBank(Base):
    """A list of keywords, phrases or regular expressions that rules name (`'crypto_scam' in
    text_banks`), for one app or every app (`app_id` None) and one language or every one.
    `revision` goes up with every change to the bank or its entries, in the same transaction,
    so each process's matcher reloads just the banks whose revision it has not seen."""

    __tablename__ = "text_banks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id"), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)  # a primary subtag: `pt`
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextBankEntry(Base):
    """One keyword, phrase or pattern of a bank. Removal is soft (`removed_at`); a value is in a
    bank once while not removed (a partial unique index), and may be added again after removal."""

    __tablename__ = "text_bank_entries"
    __table_args__ = (
        Index("uq_text_bank_entries_live", "bank_id", "value", unique=True,
              sqlite_where=text("removed_at IS NULL"), postgresql_where=text("removed_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("text_banks.id"))
    value: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class NcmecReport(Base):
    """A CyberTipline report made from a child-safety case, and how far its filing went.

    `state`: `draft` (built, not sent), `queued` (claimed for the worker), `submitting` (the
    worker is filing it; `report_id` once NCMEC gave one), `finished` (filed), `failed` (a step
    was refused or NCMEC could not be reached: submitting again resumes where it stopped),
    `retracted`. `files` lists each media file with its
    hashes, whether staff viewed it, and once uploaded NCMEC's `fileId` and MD5; `errors` every
    refusal with its response code. A case has one report that is not retracted (a partial
    unique index). Filing asks NCMEC to preserve for a year, and so must TrustDesk: `hold_until`
    is when the evidence hold that submission calls for may end, and `hold_id` the hold once
    the evidence module has placed it.
    """

    __tablename__ = "ncmec_reports"
    __table_args__ = (
        Index("uq_ncmec_reports_live_case", "case_id", unique=True,
              sqlite_where=text("state <> 'retracted'"), postgresql_where=text("state <> 'retracted'")),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    incident_type: Mapped[str] = mapped_column(String(200))
    report_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)
    xml: Mapped[str] = mapped_column(Text)
    files: Mapped[list[Any]] = mapped_column(default=list)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    # When the report must be filed: the filing window after the case was confirmed.
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    hold_until: Mapped[datetime | None] = mapped_column(default=None)
    hold_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the worker sent the submission whose answer (the `reportId`) is not yet recorded: set
    # with no `report_id`, NCMEC may hold a report of the case that TrustDesk does not know of.
    submit_started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    retracted_at: Mapped[datetime | None] = mapped_column(default=None)


class LegalHold(Base):
    """A legal hold on subjects: while it stands, nothing it covers may be deleted. `basis` is
    its legal basis (`trustdesk.domain.legal_holds.HoldBasis`), which sets its retention clock:
    `expires_at` (None: a manual hold, reviewed on `review_on` instead). `custody_seq` and
    `custody_head` are the head of its custody chain, moved with the row locked."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_expires_at", "expires_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    basis: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    # The outside reference: the request's or report's number, the matter's name.
    reference: Mapped[str] = mapped_column(String(200), default="")
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_on: Mapped[date | None] = mapped_column(Date, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    released_by: Mapped[str | None] = mapped_column(String(200), default=None)
    custody_seq: Mapped[int] = mapped_column(default=0)
    custody_head: Mapped[str] = mapped_column(String(64))


class HoldSubject(Base):
    """A subject a hold covers: one named when it was placed, or an item of a named account."""

    __tablename__ = "hold_subjects"
    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id"), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True, index=True)
    # False for an account's item, covered because its account was named.
    named: Mapped[bool] = mapped_column(Boolean, default=True)


class EvidenceItem(Base):
    """One piece of a hold's evidence set, snapshotted when the hold was placed and never
    updated: a record's canonical JSON bytes (`body`), or a media file by its blob. `sha256`
    is the hash of those bytes either way."""

    __tablename__ = "evidence_items"
    __table_args__ = (UniqueConstraint("hold_id", "position"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id"))
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(BigInteger)
    subject_id: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustodyEvent(Base):
    """One link of a hold's chain of custody: who placed, read, exported, transferred, extended
    or released it, and why. Each event's hash covers the previous one, as in the audit log."""

    __tablename__ = "custody_events"
    __table_args__ = (UniqueConstraint("hold_id", "seq"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id"))
    seq: Mapped[int] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    verb: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column()
    prev_hash: Mapped[str] = mapped_column(String(64))
    event_hash: Mapped[str] = mapped_column(String(64))


class Verdict(Base):
    """The answer of a synchronous check on one content of a subject, kept so that the same
    content checked again gets the same answer without a second decision or case."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("subject_id", "body_hash"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    body_hash: Mapped[str] = mapped_column(String(64))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("rule_evaluations.id"))
    verdict: Mapped[str] = mapped_column(String(16))  # allow, review, block
    # [{"rule", "version", "effects"}] of the live rules that matched.
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    signals: Mapped[list[Any]] = mapped_column(default=list)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationBatch(Base):
    """Up to 1,000 synchronous checks done by the worker: the items as sent, then each one's
    answer (or the error that refused it) in order."""

    __tablename__ = "evaluation_batches"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), default=None)
    status: Mapped[str] = mapped_column(String(16))  # queued, done
    item_count: Mapped[int] = mapped_column()
    items: Mapped[list[Any]] = mapped_column(default=list)
    results: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class LawEnforcementRequest(Base):
    """A law-enforcement or regulatory request (`trustdesk.domain.law_enforcement`): who sent
    it and under which instrument, kept beside its case of kind `law_enforcement_request`,
    whose `case_subjects` are the subjects it names and whose `legal_due_at` is `due_at`.

    `status` runs received → in_review → approved / narrowed / rejected → disclosed → closed.
    A preservation letter's hold is `preservation_hold_id`; an approved or narrowed request's
    disclosure package is the export of `disclosure_hold_id`, checkable by `disclosure_sha256`.
    `disclosed_subject_ids` are the subjects legal review let go out (all, or the narrowed few);
    `known_copies` the other subjects whose media match a TAKE IT DOWN request's named media.
    While a non-disclosure order stands (`non_disclosure`, through `non_disclosure_until` if
    set), notices and access exports about its subjects leave the request out.
    """

    __tablename__ = "law_enforcement_requests"
    __table_args__ = (UniqueConstraint("app_id", "external_id", name="uq_law_enforcement_requests_external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    # The host platform's id for it when filed through the API (a retry answers the original).
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    body_hash: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(200))
    officer_name: Mapped[str] = mapped_column(String(200))
    officer_email: Mapped[str] = mapped_column(String(200))
    officer_phone: Mapped[str] = mapped_column(String(200), default="")
    instrument: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(200))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column()
    non_disclosure: Mapped[bool] = mapped_column(Boolean, default=False)
    non_disclosure_until: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default="received")
    review_outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    review_reasons: Mapped[str | None] = mapped_column(Text, default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    disclosed_subject_ids: Mapped[list[Any]] = mapped_column(default=list)
    known_copies: Mapped[list[Any]] = mapped_column(default=list)
    preservation_hold_id: Mapped[int | None] = mapped_column(ForeignKey("legal_holds.id"), default=None)
    disclosure_hold_id: Mapped[int | None] = mapped_column(ForeignKey("legal_holds.id"), default=None)
    disclosure_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    disclosed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActiveRecipients(Base):
    """An app's average monthly active recipients in the Union for one calendar month (DSA Art.
    24(2)), as its host platform reported them: one row per app and month, replaced by a later
    report of the same month. `month` is the month's first day; `by_member_state` maps ISO
    codes to counts (empty: no breakdown)."""

    __tablename__ = "active_recipients"
    __table_args__ = (UniqueConstraint("app_id", "month", name="uq_active_recipients_month"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    month: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(BigInteger)
    by_member_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reported_by: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrivacyRequest(Base):
    """A data subject's privacy request (`trustdesk.domain.privacy_requests`), worked in its own
    case of kind `privacy_request`. `due_on` is the regime's date from `received_on` (later by
    `paused_days` under UK GDPR while identity was checked), `extended_to` the date after the
    one extension the regime allows; the case's `legal_due_at` is the end of whichever applies.
    One filed through the API carries the client's `external_id` (idempotent, like every write
    of the API). `outcome` is what answering did: the export's files, or what an erasure erased
    and what it retained under which hold. A CCPA request to know, delete or correct has its
    receipt confirmed by `confirm_by` (`receipt_confirmed_*`: who, when and how). An answered
    rectification keeps the person's `statement` against their account; an answered
    restriction stands until lifted (`lifted_*`)."""

    __tablename__ = "privacy_requests"
    __table_args__ = (UniqueConstraint("app_id", "external_id"), Index("ix_privacy_requests_status_due", "status", "due_on"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), default=None)
    body_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    regime: Mapped[str] = mapped_column(String(32))
    request_type: Mapped[str] = mapped_column(String(32))
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_contact: Mapped[str] = mapped_column(String(320))
    details: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[str] = mapped_column(String(16), default="unverified")
    verification_note: Mapped[str | None] = mapped_column(Text, default=None)
    verified_by: Mapped[str | None] = mapped_column(String(200), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    paused_days: Mapped[int] = mapped_column(default=0)
    extended_to: Mapped[date | None] = mapped_column(Date, default=None)
    extension_reason: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answered_by: Mapped[str | None] = mapped_column(String(200), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    confirm_by: Mapped[date | None] = mapped_column(Date, default=None)
    receipt_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    receipt_confirmed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    receipt_confirmation: Mapped[str | None] = mapped_column(Text, default=None)
    statement: Mapped[str | None] = mapped_column(Text, default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_by: Mapped[str | None] = mapped_column(String(200), default=None)
    lift_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
