"""API tokens: created on the box, shown once, stored as SHA-256, revocable.

A token is 256 random bits, so a plain SHA-256 is as safe to store as a slow hash of a
password would be, and a lookup is one indexed query. Roles: ``admin`` (everything),
``helpdesk`` (certificates and subscribers of any tenant), ``tenant-admin`` (its own
tenant only) and ``gateway`` (the gateway feed only).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.directory import get_tenant
from certsvc.domain import identifiers
from certsvc.errors import AuthenticationFailed, Conflict, InputError, NotFound
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import ApiToken

ROLES = ("admin", "helpdesk", "gateway", "tenant-admin")
PREFIX = "csv_"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API token, or an operator signed in to the console.

    ``token_id`` is the row of the token (or of the console session); ``channel`` names
    the door in the audit trail (``api:desk-1``, ``console:hanako``), so routes treat
    both alike.
    """

    token_id: int
    name: str
    role: str
    company_number: str | None
    channel: str = "api"

    def actor(self, ticket: str | None = None) -> Actor:
        return Actor(f"{self.channel}:{self.name}", ticket)


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``certsvc token list`` shows it (never the secret)."""

    name: str
    role: str
    company_number: str | None
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens:
    """Create, list, revoke and check API tokens."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def create(self, role: str, name: str, company_number: str | None = None) -> str:
        """A new token's secret; the only time it exists outside the caller's hands."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}", "role")
        if not _NAME.fullmatch(name):
            raise InputError(f"invalid token name {name!r} (1-64 letters, digits, '._@-')")
        if (role == "tenant-admin") != (company_number is not None):
            raise InputError("--company is required for tenant-admin and only for it", "company")
        secret = PREFIX + secrets.token_urlsafe(32)
        with transaction(self.sessions) as session:
            if company_number is not None:
                get_tenant(session, identifiers.company_number(company_number))
            if session.scalar(select(ApiToken.id).where(ApiToken.name == name)):
                raise Conflict(f"a token named {name!r} exists already")
            session.add(
                ApiToken(
                    name=name,
                    role=role,
                    company_number=company_number,
                    token_sha256=token_hash(secret),
                    created_at=self.clock.now(),
                )
            )
        return secret

    def revoke(self, name: str) -> None:
        with transaction(self.sessions) as session:
            row = session.scalar(select(ApiToken).where(ApiToken.name == name))
            if row is None:
                raise NotFound("token", name)
            if row.revoked_at is None:
                row.revoked_at = self.clock.now()

    def list(self) -> list[TokenInfo]:
        with self.sessions() as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
            return [
                TokenInfo(
                    row.name,
                    row.role,
                    row.company_number,
                    row.created_at.isoformat(),
                    _iso(row.last_used_at),
                    _iso(row.revoked_at),
                )
                for row in rows
            ]

    def authenticate(self, secret: str) -> Principal:
        """The principal of an active token, recording its use; one error for any failure."""
        digest = token_hash(secret)
        now = self.clock.now()
        with transaction(self.sessions) as session:
            row = session.scalar(
                select(ApiToken).where(
                    ApiToken.token_sha256 == digest, ApiToken.revoked_at.is_(None)
                )
            )
            if row is None:
                raise AuthenticationFailed("missing, unknown or revoked API token")
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
            return Principal(row.id, row.name, row.role, row.company_number)

    def is_active(self, digest: str) -> bool:
        """Whether a token hash belongs to an active token (for idempotent replays)."""
        with self.sessions() as session:
            found = session.scalar(
                select(ApiToken.id).where(
                    ApiToken.token_sha256 == digest, ApiToken.revoked_at.is_(None)
                )
            )
            return found is not None


def active_token_roles(session: Session) -> dict[str, str]:
    """SHA-256 hash -> role of every token not revoked (for in-memory checks)."""
    rows = session.execute(
        select(ApiToken.token_sha256, ApiToken.role).where(ApiToken.revoked_at.is_(None))
    )
    return {digest: role for digest, role in rows}


def record_use(session: Session, digests: Iterable[str], at: datetime) -> None:
    """Set ``last_used_at`` of the tokens with these hashes (checked in memory elsewhere)."""
    wanted = list(digests)
    if wanted:
        session.execute(
            update(ApiToken).where(ApiToken.token_sha256.in_(wanted)).values(last_used_at=at)
        )


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None
