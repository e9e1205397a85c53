"""Console sign-in and server-side sessions, resolving to the same ``Principal`` as tokens.

A sign-in needs the name, the password and a TOTP code. The attempt is counted *before*
the (slow) checks, in one ``UPDATE ... RETURNING`` that refuses a locked account, so
any number of parallel guesses is checked at most ``max_failures`` times; a success sets
the count back to zero. The last failure allowed locks the account until the next
midnight (business zone) or an operator reset, as for every login (domain.md). A TOTP
step is accepted once only. Every sign-in, failure and lock is audited, never with the
password or the code. A session ends after ``idle_minutes`` unused, ``absolute_hours``
after sign-in, at sign-out, or when the account is reset or disabled.
"""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, literal, or_, select, update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.access.credentials import Secrets, next_midnight
from certsvc.access.operators import (
    end_sessions,
    operator_event,
    password_expired,
    replace_password,
)
from certsvc.access.tokens import Principal, token_hash
from certsvc.access.totp import SecretBox, matching_step
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.errors import AuthenticationFailed, PasswordChangeRequired
from certsvc.storage.column_types import UTCDateTime
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import ConsoleSession, Operator

SIGN_IN_FAILED = (
    "sign-in failed: name, password or code is wrong, or the account is locked until "
    "tomorrow after repeated failures"
)
SESSION_ENDED = "not signed in, or the session has ended: sign in again"
PREFIX = "cs_"


@dataclass(frozen=True)
class SignIn:
    """What the sign-in form sends (``username``, ``password``, ``totp``)."""

    name: str
    password: str
    totp: str


@dataclass(frozen=True)
class SignedIn:
    """The new session's token (the cookie value; only its hash is stored) and its limits."""

    token: str
    expires_at: datetime
    must_change_password: bool


@dataclass(frozen=True)
class ActiveSession:
    """A session that is still good, as of the request that resolved it."""

    principal: Principal
    must_change_password: bool
    idle_until: datetime
    expires_at: datetime


def console_actor(name: str) -> Actor:
    return Actor(f"console:{name}")


class ConsoleSessions:
    """Sign in, resolve a session token to its principal, change the password, sign out."""

    def __init__(
        self, sessions: SessionFactory, clock: Clock, settings: Settings, secrets: Secrets
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self.secrets = secrets
        self.box = SecretBox.from_pepper(secrets.pepper)
        self.idle = timedelta(minutes=settings.console.idle_minutes)
        self.lifetime = timedelta(hours=settings.console.absolute_hours)

    def sign_in(self, attempt: SignIn) -> SignedIn:
        """A new session for a correct name, password and code; one error for any failure."""
        now = self.clock.now()
        row, counted = self._start(attempt, now)
        password_ok = self.secrets.password_matches(row.password_hash, attempt.password)
        secret = self.box.open(row.totp_secret, row.name)
        step = matching_step(secret, attempt.totp, now, self.settings.console.totp_drift_steps)
        with transaction(self.sessions) as session:
            if password_ok and step is not None and self._accept(session, row.id, step, now):
                return self._open(session, row.id, now)
            why = "wrong password" if not password_ok else "wrong or reused code"
            self._failed(session, row, counted, now, why)
        raise AuthenticationFailed(SIGN_IN_FAILED)

    def _start(self, attempt: SignIn, now: datetime) -> tuple[Operator, int]:
        """The account and its attempt count; refused (and audited) when none may be made."""
        with transaction(self.sessions) as session:
            row = session.scalar(select(Operator).where(Operator.name == attempt.name))
            counted = None if row is None else self._count_attempt(session, row.id, now)
            if row is not None and counted is not None:
                return row, counted
            self.secrets.burn(attempt.password)  # as slow as a known name's check
            self._refused(session, row, now, "unknown" if row is None else "locked or disabled")
        raise AuthenticationFailed(SIGN_IN_FAILED)

    def _failed(
        self, session: Session, row: Operator, counted: int, now: datetime, why: str
    ) -> None:
        self._refused(session, row, now, why)
        if counted < self.settings.credentials.max_failures:
            return
        until = next_midnight(now, self.settings.zone)
        audit.record_refusal(
            session,
            console_actor(row.name),
            "console.locked",
            now,
            company_number=row.company_number,
            after={"operator": row.name, "locked_until": until.isoformat()},
        )

    def _count_attempt(self, session: Session, operator_id: int, now: datetime) -> int | None:
        """Count this attempt as a failure until proven good; None when locked or disabled.

        One statement, so two requests can never both take the last attempt: the one that
        reaches ``max_failures`` also sets the lock. A lock that has lifted starts anew.
        """
        limit = self.settings.credentials.max_failures
        lifted = and_(Operator.locked_until.is_not(None), Operator.locked_until <= now)
        attempts = case((lifted, 0), else_=Operator.failed_attempts) + 1
        lock_end = literal(next_midnight(now, self.settings.zone), UTCDateTime())
        statement = (
            update(Operator)
            .where(
                Operator.id == operator_id,
                Operator.disabled_at.is_(None),
                or_(Operator.locked_until.is_(None), Operator.locked_until <= now),
            )
            .values(
                failed_attempts=attempts,
                locked_until=case((attempts >= limit, lock_end), else_=None),
            )
            .returning(Operator.failed_attempts)
            .execution_options(synchronize_session=False)
        )
        return session.execute(statement).scalar_one_or_none()

    def _accept(self, session: Session, operator_id: int, step: int, now: datetime) -> bool:
        """Clear the count and burn the TOTP step; False if that step was already used."""
        statement = (
            update(Operator)
            .where(
                Operator.id == operator_id,
                or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
            )
            .values(failed_attempts=0, locked_until=None, totp_last_step=step, last_sign_in_at=now)
            .returning(Operator.id)
            .execution_options(synchronize_session=False)
        )
        return session.execute(statement).scalar_one_or_none() is not None

    def _open(self, session: Session, operator_id: int, now: datetime) -> SignedIn:
        row = session.get_one(Operator, operator_id, populate_existing=True)
        if row.totp_confirmed_at is None:
            row.totp_confirmed_at = now  # the first code from the enrolled secret
        token = PREFIX + random.token_urlsafe(32)
        expires_at = now + self.lifetime
        session.add(
            ConsoleSession(
                token_sha256=token_hash(token),
                operator_id=row.id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )
        must_change = self._must_change(row, now)
        audit.record(
            session,
            console_actor(row.name),
            "console.sign_in",
            now,
            company_number=row.company_number,
            after={"operator": row.name, "must_change_password": must_change},
        )
        return SignedIn(token, expires_at, must_change)

    def _refused(self, session: Session, row: Operator | None, now: datetime, why: str) -> None:
        """Audit a refused sign-in; an unknown name is not written (it may be a password)."""
        name = row.name if row is not None else "?"
        audit.record_refusal(
            session,
            console_actor(name),
            "console.sign_in",
            now,
            company_number=row.company_number if row is not None else None,
            after={"operator": row.name if row is not None else None, "reason": why},
        )

    def _must_change(self, row: Operator, now: datetime) -> bool:
        max_age = self.settings.credentials.password_max_age_days
        return row.must_change_password or password_expired(row, now, max_age)

    def resolve(self, token: str) -> ActiveSession:
        """The session of a token if it is still good; its idle time starts again."""
        now = self.clock.now()
        with transaction(self.sessions) as session:
            found = session.execute(
                select(ConsoleSession, Operator)
                .join(Operator, ConsoleSession.operator_id == Operator.id)
                .where(ConsoleSession.token_sha256 == token_hash(token))
            ).one_or_none()
            if found is None or not self._alive(found[0], found[1], now):
                raise AuthenticationFailed(SESSION_ENDED)
            record, operator = found
            record.last_seen_at = now
            principal = Principal(
                record.id, operator.name, operator.role, operator.company_number, "console"
            )
            return ActiveSession(
                principal,
                self._must_change(operator, now),
                min(now + self.idle, record.expires_at),
                record.expires_at,
            )

    def principal(self, token: str) -> Principal:
        """Who acts through this session; refused until a required new password is set."""
        active = self.resolve(token)
        if active.must_change_password:
            raise PasswordChangeRequired("choose a new password before anything else")
        return active.principal

    def _alive(self, record: ConsoleSession, operator: Operator, now: datetime) -> bool:
        return (
            record.ended_at is None
            and operator.disabled_at is None
            and now < record.expires_at
            and now < record.last_seen_at + self.idle
        )

    def change_password(self, token: str, current: str, new: str) -> None:
        """Replace the password (required after add, reset or expiry); other sessions end."""
        active = self.resolve(token)
        now = self.clock.now()
        with transaction(self.sessions) as session:
            row = session.get_one(Operator, self._operator_id(session, active))
            if not self.secrets.password_matches(row.password_hash, current):
                raise AuthenticationFailed("the current password is wrong")
            replace_password(
                row, new, self.secrets, self.settings.credentials.password_history, now
            )
            end_sessions(session, row.id, now, keep=active.principal.token_id)
            actor = console_actor(row.name)
            company = row.company_number
            audit.record(
                session,
                actor,
                "operator.password",
                now,
                company_number=company,
                after=operator_event(row),
            )

    @staticmethod
    def _operator_id(session: Session, active: ActiveSession) -> int:
        return session.get_one(ConsoleSession, active.principal.token_id).operator_id

    def sign_out(self, token: str) -> None:
        """End the session of this token (a token already ended or unknown: nothing to do)."""
        now = self.clock.now()
        with transaction(self.sessions) as session:
            record = session.scalar(
                select(ConsoleSession).where(ConsoleSession.token_sha256 == token_hash(token))
            )
            if record is None or record.ended_at is not None:
                return
            record.ended_at = now
            operator = session.get_one(Operator, record.operator_id)
            audit.record(
                session,
                console_actor(operator.name),
                "console.sign_out",
                now,
                company_number=operator.company_number,
                after={"operator": operator.name},
            )
