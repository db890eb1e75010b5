"""SQLAlchemy models: the current-state tables the console reads, plus the audit log.

Columns that hold JSON use the portable `JSON` type so that SQLite and PostgreSQL share one
schema. All times are UTC; SQLite hands them back naive, so read them through `as_utc`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class App(Base):
    """One of the organisation's products (a dating app, a marketplace)."""

    __tablename__ = "apps"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiClient(Base):
    """A host-platform integration; its bearer token is stored only as a hash."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    name: Mapped[str] = mapped_column(String(200))
    token_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    app: Mapped[App] = relationship()


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    skills: Mapped[dict[str, Any]] = mapped_column(default=dict)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
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
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subject(Base):
    """An account or a content item on the host platform, in a parent/child tree."""

    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("app_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
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
    media_sha256: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    media_md5: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    media_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    media_type: Mapped[str | None] = mapped_column(String(100), default=None)
    body_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    policy_code: Mapped[str] = mapped_column(String(64))
    reporter_type: Mapped[str] = mapped_column(String(32))
    reporter_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    dsa_explanation: Mapped[str | None] = mapped_column(Text, default=None)
    dsa_location_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    notifier_name: Mapped[str | None] = mapped_column(String(200), default=None)
    notifier_email: Mapped[str | None] = mapped_column(String(320), default=None)
    good_faith: Mapped[bool] = mapped_column(Boolean, default=False)
    imminent_harm: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
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


class Job(Base):
    """Background work, claimed by one worker at a time under a lease."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
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
