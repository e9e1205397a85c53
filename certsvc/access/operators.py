"""Console operator accounts: created on the box, password (argon2id) plus TOTP.

An administrator on the box runs ``certsvc operator add`` with an initial password (read
from a file or typed at a prompt) and hands the printed TOTP enrolment (URI or QR code)
to the operator. That password is temporary: the first sign-in (password and a code from
the enrolled authenticator) must choose a new one before anything else. ``reset`` does
the same again (new password, new TOTP secret, lock lifted, sessions ended); ``disable``
ends an account and its sessions for good. Passwords follow the credential rules
(8-32 characters, two classes, 90-day expiry, the last two not reusable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.access.credentials import Secrets, check_password
from certsvc.access.totp import Enrolment, SecretBox, matching_step, new_secret, provisioning_uri
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.directory import get_tenant
from certsvc.domain import identifiers
from certsvc.errors import Conflict, InputError, NotFound
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import ConsoleSession, Operator

ROLES = ("admin", "helpdesk", "tenant-admin")
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


@dataclass(frozen=True)
class OperatorInfo:
    """An account as ``certsvc operator list`` shows it (never a hash or a secret)."""

    name: str
    role: str
    company_number: str | None
    created_at: datetime
    last_sign_in_at: datetime | None
    must_change_password: bool
    totp_confirmed: bool
    locked_until: datetime | None
    disabled_at: datetime | None


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(f"invalid operator name {name!r} (1-64 letters, digits, '._@-')", "name")
    return name


def replace_password(
    row: Operator, password: str, secrets: Secrets, keep: int, now: datetime
) -> None:
    """Set a chosen password; the one in force and the last ``keep`` chosen are refused."""
    check_password(password, "new_password")
    history = list(row.history or [])[:keep]
    if any(secrets.password_matches(old, password) for old in [row.password_hash, *history]):
        raise InputError(
            f"this password was used recently: the last {keep} cannot be reused", "new_password"
        )
    hashed = secrets.hash_password(password)
    row.history = [hashed, *history][:keep] if keep else []
    row.password_hash = hashed
    row.password_set_at = now
    row.must_change_password = False


def end_sessions(
    session: Session, operator_id: int, now: datetime, keep: int | None = None
) -> None:
    """End every open session of an operator (but ``keep``)."""
    statement = update(ConsoleSession).where(
        ConsoleSession.operator_id == operator_id, ConsoleSession.ended_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(ConsoleSession.id != keep)
    session.execute(statement.values(ended_at=now))


def operator_event(row: Operator) -> dict[str, object]:
    """What the audit trail may see of an account."""
    return {
        "operator": row.name,
        "role": row.role,
        "must_change_password": row.must_change_password,
        "locked_until": row.locked_until.isoformat() if row.locked_until else None,
        "disabled": row.disabled_at is not None,
    }


class Operators:
    """Add, list, reset and disable operators; change an operator's TOTP."""

    def __init__(
        self, sessions: SessionFactory, clock: Clock, settings: Settings, secrets: Secrets
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self.secrets = secrets
        self.box = SecretBox.from_pepper(secrets.pepper)

    def add(
        self, name: str, role: str, company_number: str | None, password: str, by: Actor
    ) -> Enrolment:
        """A new account with a temporary password; its TOTP enrolment, shown once."""
        check_name(name)
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}", "role")
        if (role == "tenant-admin") != (company_number is not None):
            raise InputError("--company is required for tenant-admin and only for it", "company")
        check_password(password)
        now = self.clock.now()
        secret = new_secret()
        with transaction(self.sessions) as session:
            if company_number is not None:
                get_tenant(session, identifiers.company_number(company_number))
            if session.scalar(select(Operator.id).where(Operator.name == name)):
                raise Conflict(f"an operator named {name!r} exists already")
            row = Operator(
                name=name,
                role=role,
                company_number=company_number,
                password_hash=self.secrets.hash_password(password),
                password_set_at=now,
                must_change_password=True,
                history=[],
                totp_secret=self.box.seal(secret, name),
                failed_attempts=0,
                created_at=now,
            )
            session.add(row)
            self._record(session, by, "operator.add", row, now)
        return self._enrolment(secret, name)

    def reset(self, name: str, password: str, by: Actor) -> Enrolment:
        """New temporary password and TOTP secret, lock lifted, every session ended."""
        check_password(password)
        now = self.clock.now()
        secret = new_secret()
        with transaction(self.sessions) as session:
            row = _get(session, name)
            if row.disabled_at is not None:
                raise Conflict(f"operator {name!r} is disabled")
            row.password_hash = self.secrets.hash_password(password)
            row.password_set_at = now
            row.must_change_password = True
            row.totp_secret = self.box.seal(secret, name)
            row.totp_pending = None
            row.totp_confirmed_at = None
            row.totp_last_step = None
            row.failed_attempts = 0
            row.locked_until = None
            end_sessions(session, row.id, now)
            self._record(session, by, "operator.reset", row, now)
        return self._enrolment(secret, name)

    def disable(self, name: str, by: Actor) -> None:
        """The account signs in no more; its sessions end now. Kept for the audit trail."""
        now = self.clock.now()
        with transaction(self.sessions) as session:
            row = _get(session, name)
            if row.disabled_at is None:
                row.disabled_at = now
                end_sessions(session, row.id, now)
                self._record(session, by, "operator.disable", row, now)

    def list(self) -> list[OperatorInfo]:
        with self.sessions() as session:
            rows = session.scalars(select(Operator).order_by(Operator.name)).all()
            return [_info(row) for row in rows]

    def begin_totp_change(self, name: str) -> Enrolment:
        """A new secret, pending until ``confirm_totp_change`` sees a code from it."""
        secret = new_secret()
        with transaction(self.sessions) as session:
            row = _get(session, name)
            row.totp_pending = self.box.seal(secret, name)
        return self._enrolment(secret, name)

    def confirm_totp_change(self, name: str, code: str, by: Actor) -> None:
        """The pending secret replaces the old one once a code from it is typed."""
        now = self.clock.now()
        drift = self.settings.console.totp_drift_steps
        with transaction(self.sessions) as session:
            row = _get(session, name)
            if row.totp_pending is None:
                raise Conflict("no TOTP change was started")
            secret = self.box.open(row.totp_pending, name)
            step = matching_step(secret, code, now, drift)
            if step is None:
                raise InputError("the code does not match the new authenticator entry", "totp")
            row.totp_secret, row.totp_pending = row.totp_pending, None
            row.totp_last_step = step
            row.totp_confirmed_at = now
            self._record(session, by, "operator.totp_changed", row, now)

    def _enrolment(self, secret: str, name: str) -> Enrolment:
        return Enrolment(provisioning_uri(secret, name, self.settings.console.totp_issuer))

    def _record(
        self, session: Session, by: Actor, action: str, row: Operator, at: datetime
    ) -> None:
        company = row.company_number
        audit.record(session, by, action, at, company_number=company, after=operator_event(row))


def password_expired(row: Operator, now: datetime, max_age_days: int) -> bool:
    return now >= row.password_set_at + timedelta(days=max_age_days)


def _get(session: Session, name: str) -> Operator:
    row = session.scalar(select(Operator).where(Operator.name == name))
    if row is None:
        raise NotFound("operator", name)
    return row


def _info(row: Operator) -> OperatorInfo:
    return OperatorInfo(
        row.name,
        row.role,
        row.company_number,
        row.created_at,
        row.last_sign_in_at,
        row.must_change_password,
        row.totp_confirmed_at is not None,
        row.locked_until,
        row.disabled_at,
    )
