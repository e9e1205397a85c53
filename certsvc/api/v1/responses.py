"""The shapes of the API's answers, for the OpenAPI document and its clients.

They mirror the views the routers return (``CertificateView``, ``TenantView``,
``SubscriberView``, audit events) field for field, so a generated client and the
``--json`` of the CLI agree; FastAPI checks every answer against them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from certsvc.domain.certificates import CertState


class CertificateOut(BaseModel):
    """A certificate (the keys of ``certsvc cert show --json``); times in the business zone."""

    serial: str | None
    sha256: str | None
    sha1: str | None
    state: CertState
    company_number: str
    user_id: str
    email: str
    subject: str | None
    issuer: str | None
    not_before: str | None
    not_after: str | None
    expiry_date: str | None
    invalid_from: str | None
    revoked_at: str | None
    revocation_reason: str | None
    replaces: str | None
    superseded_by: str | None
    awaiting_pickup: bool
    revoke_old_due_at: str | None


class IssuedOut(CertificateOut):
    """An issued certificate: its keys, its PEM and the PEM chain (issuing CA, then root)."""

    certificate_pem: str
    chain_pem: str


class TenantOut(BaseModel):
    """A tenant with its number of subscribers."""

    company_number: str
    name: str
    admin_name: str
    admin_email: str
    created_at: str
    subscribers: int


class SubscriberOut(BaseModel):
    """A subscriber and the state of its pickup credentials."""

    company_number: str
    user_id: str
    display_name: str
    email: str
    role: str
    locale: str
    needs_certificate: bool
    created_at: str
    credentials_registered: bool
    locked_until: str | None


class AuditEventOut(BaseModel):
    """One audit event: who did what, under which ticket, before and after (UTC)."""

    at: str
    actor: str
    action: str
    outcome: str
    ticket: str | None
    company_number: str | None
    serial: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
