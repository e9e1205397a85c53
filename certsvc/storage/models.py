"""The database schema as SQLAlchemy 2 typed models.

Rows hold what certsvc decides; cryptographic artefacts are kept as PEM/DER so that
what was issued can always be served again byte for byte. Every datetime is stored in
UTC and comes back timezone-aware.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from certsvc.domain.certificates import CertState, ReissueReason, RevokeOld
from certsvc.domain.policy import RevocationReason
from certsvc.storage.column_types import EnumText, UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for prepared statements on hot paths."""
    return Base.metadata.tables[model.__tablename__]


class Tenant(Base):
    """A customer company, known by its company number."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    admin_email: Mapped[str] = mapped_column(String(254))
    admin_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]

    subscribers: Mapped[list[Subscriber]] = relationship(back_populates="tenant")


class Subscriber(Base):
    """A user of a tenant; holds at most one valid certificate for one PC."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    needs_certificate: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    tenant: Mapped[Tenant] = relationship(back_populates="subscribers")


class Certificate(Base):
    """One certificate (or a ``pending`` request for one) of a subscriber."""

    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_state_invalid_from", "state", "invalid_from"),
        Index("ix_certificates_state_expiry_date", "state", "expiry_date"),
        Index("ix_certificates_crl", "ca_name", "state", "crl_final"),
        Index("ix_certificates_ca_not_after", "ca_name", "not_after"),
        # Partial: issuing (the hot path) writes no entry into them.
        Index(
            "ix_certificates_revoked_at",
            "revoked_at",
            sqlite_where=text("revoked_at IS NOT NULL"),
            postgresql_where=text("revoked_at IS NOT NULL"),
        ),
        Index(
            "ix_certificates_revoke_due_at",
            "revoke_due_at",
            sqlite_where=text("revoke_due_at IS NOT NULL"),
            postgresql_where=text("revoke_due_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), index=True)
    state: Mapped[CertState] = mapped_column(EnumText(CertState, 16))
    request_key: Mapped[str] = mapped_column(String(64), index=True)  # idempotent retries
    requested_at: Mapped[datetime]
    public_key_sha256: Mapped[str] = mapped_column(String(64), index=True)  # key reuse
    adapter: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    serial: Mapped[str | None] = mapped_column(String(42), unique=True)
    ca_ref: Mapped[str | None] = mapped_column(String(128))
    ca_name: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    sha1: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(500))
    issuer: Mapped[str | None] = mapped_column(String(500))
    not_before: Mapped[datetime | None]
    not_after: Mapped[datetime | None]
    expiry_date: Mapped[date | None] = mapped_column(Date)
    invalid_from: Mapped[datetime | None]
    pem: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    revoke_due_at: Mapped[datetime | None]
    revoke_due_reason: Mapped[RevocationReason | None] = mapped_column(
        EnumText(RevocationReason, 32)
    )
    awaiting_pickup: Mapped[bool] = mapped_column(Boolean, default=False)
    picked_up_at: Mapped[datetime | None]
    crl_final: Mapped[bool] = mapped_column(Boolean, default=False)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))

    subscriber: Mapped[Subscriber] = relationship()
    replaces: Mapped[Certificate | None] = relationship(
        foreign_keys=[replaces_id], remote_side=[id]
    )
    superseded_by: Mapped[Certificate | None] = relationship(
        foreign_keys=[superseded_by_id], remote_side=[id]
    )


class AuditEvent(Base):
    """Append-only record of every change: who, what, which ticket, before and after."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    ticket: Mapped[str | None] = mapped_column(String(128), index=True)
    company_number: Mapped[str | None] = mapped_column(String(32))
    serial: Mapped[str | None] = mapped_column(String(42), index=True)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class OutboxMessage(Base):
    """A message (mail, webhook) written with the change that causes it, sent after commit.

    ``dedupe_key`` is unique, so the same reminder or event can never be queued twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # mail | webhook
    kind: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    recipient: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class FeedChange(Base):
    """One change to the set of certificates a gateway may let in; ``version`` only grows."""

    __tablename__ = "feed_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    op: Mapped[str] = mapped_column(String(8))  # add | remove
    serial: Mapped[str] = mapped_column(String(42))
    sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class PublishedCRL(Base):
    """A signed CRL as served; the number is unique and only grows per CA."""

    __tablename__ = "crls"
    __table_args__ = (UniqueConstraint("ca_name", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ca_name: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    this_update: Mapped[datetime]
    next_update: Mapped[datetime]
    built_at: Mapped[datetime]
    entries: Mapped[int] = mapped_column(Integer)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class RecordedCA(Base):
    """A CA certificate the database belongs to, recorded by ``certsvc init`` (or rollover).

    One row per CA of the chain (``root``, ``issuing``, ``issuing-2`` ...): a node whose
    own CA material differs, or is missing, refuses to make another CA beside it.
    """

    __tablename__ = "ca_identities"
    __table_args__ = (UniqueConstraint("adapter", "ca_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    adapter: Mapped[str] = mapped_column(String(64))
    ca_name: Mapped[str] = mapped_column(String(64))
    certificate_pem: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime]


class PendingRequest(Base):
    """What a ``pending`` certificate was asked for, so ``reconcile`` can finish the job.

    A lost CA answer loses the caller's intent with it: which certificate the new one
    replaces, whether to revoke that one, whether it awaits pickup, and whether certsvc
    made the key (which then died with the process). One row per pending certificate,
    deleted when the certificate is settled.
    """

    __tablename__ = "pending_requests"

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(16))  # issue | renew | reissue
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    revoke_old: Mapped[RevokeOld | None] = mapped_column(EnumText(RevokeOld, 16))
    reason: Mapped[RevocationReason | None] = mapped_column(EnumText(RevocationReason, 32))
    awaiting_pickup: Mapped[bool] = mapped_column(Boolean, default=False)
    server_key: Mapped[bool] = mapped_column(Boolean, default=False)


class PendingRevocation(Base):
    """A revocation asked of the CA and not yet recorded: written before the CA call,
    deleted with the recording, so a crash in between is settled by ``reconcile``
    (which completes the revocation: revoking at the CA is idempotent)."""

    __tablename__ = "pending_revocations"

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[RevocationReason] = mapped_column(EnumText(RevocationReason, 32))
    actor: Mapped[str] = mapped_column(String(128))
    ticket: Mapped[str | None] = mapped_column(String(128))
    requested_at: Mapped[datetime]


class MirroredCRLSource(Base):
    """One CRL URL of an external CA that certsvc mirrors: when it was last checked, how.

    The good copies themselves are ``PublishedCRL`` rows under ``ca_name``, so every
    reader of ``crls`` serves a mirrored CRL exactly like one certsvc signed.
    """

    __tablename__ = "crl_mirror_sources"

    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    ca_name: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token of the HTTP API; only its SHA-256 is kept, so a leak reveals none."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | helpdesk | gateway | tenant-admin
    company_number: Mapped[str | None] = mapped_column(String(32))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first answer to a POST with an ``Idempotency-Key``, replayed for a retry.

    ``request_hash`` is keyed (HMAC), so a body holding a password cannot be guessed
    back from it; ``status`` 0 marks a request still in progress.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
    lease_until: Mapped[datetime | None]
    """While in progress: when the request's holder is presumed dead (then the key is
    reconciled or released, never run twice at once)."""


class Credential(Base):
    """A subscriber's pickup credentials: password (argon2id) and registration number.

    The registration number is kept as one keyed hash per 4-digit window (a challenge asks
    for one window), never in clear; ``history`` holds the hashes of the previous
    passwords the subscriber chose, so they cannot be reused.
    """

    __tablename__ = "credentials"
    __table_args__ = (  # locked subscribers, for the console's dashboard (partial)
        Index(
            "ix_credentials_locked_until",
            "locked_until",
            sqlite_where=text("locked_until IS NOT NULL"),
            postgresql_where=text("locked_until IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_set_at: Mapped[datetime]
    temporary_until: Mapped[datetime | None]
    temporary_number_until: Mapped[datetime | None]
    history: Mapped[list[str]] = mapped_column(JSON, default=list)
    registration_windows: Mapped[list[str]] = mapped_column(JSON)
    challenge_position: Mapped[int] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]

    subscriber: Mapped[Subscriber] = relationship()


class Pickup(Base):
    """A link mailed to a subscriber to collect a certificate; single use, expires.

    Either the certificate is already issued (``certificate_id``), or the issuance waits
    for the subscriber's key (``action`` with its parameters) and happens at pickup.
    """

    __tablename__ = "pickups"
    __table_args__ = (  # open pickup links, for the dashboard and reminders (partial)
        Index(
            "ix_pickups_open",
            "expires_at",
            sqlite_where=text("used_at IS NULL"),
            postgresql_where=text("used_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    action: Mapped[str] = mapped_column(String(16))  # collect | issue | renew | reissue
    predecessor_serial: Mapped[str | None] = mapped_column(String(42))
    reason: Mapped[ReissueReason | None] = mapped_column(EnumText(ReissueReason, 16))
    revoke_old: Mapped[RevokeOld | None] = mapped_column(EnumText(RevokeOld, 16))
    new_email: Mapped[str | None] = mapped_column(String(254))
    actor: Mapped[str] = mapped_column(String(128))
    ticket: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]  # set with used_at: the link can never be used

    subscriber: Mapped[Subscriber] = relationship()
    certificate: Mapped[Certificate | None] = relationship()


class JobRun(Base):
    """A scheduled job done for one business date: a second run for the date does nothing.

    Written in the same transaction as the date's reminders, so a crash never records a
    date whose work was lost; the highest date tells a catch-up where to start.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]]


Index("ix_feed_changes_at", FeedChange.at)


class FeedPrune(Base):
    """The change log was trimmed through ``through_version``: older ``since`` values get 410."""

    __tablename__ = "feed_prunes"

    id: Mapped[int] = mapped_column(primary_key=True)
    through_version: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime]


class Operator(Base):
    """A person who signs in to the helpdesk console: password (argon2id) plus TOTP.

    The TOTP secret must be readable to check a code, so it is kept encrypted under a key
    derived from the server's pepper (never in clear); ``totp_last_step`` refuses a code
    used twice. ``failed_attempts``/``locked_until`` follow the credential rules.
    """

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | helpdesk | tenant-admin
    company_number: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_set_at: Mapped[datetime]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    history: Mapped[list[str]] = mapped_column(JSON, default=list)
    totp_secret: Mapped[str] = mapped_column(String(255))
    totp_pending: Mapped[str | None] = mapped_column(String(255))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in operator's server-side session; only the token's SHA-256 is kept."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    operator: Mapped[Operator] = relationship()


# The console's search box and dashboard also use expression and partial indexes that
# exist only in migration 0010_console (lower(...) with text_pattern_ops on PostgreSQL).
