"""Stored pickup credentials: set them, check a login (and lock), reset them.

A login attempt is counted and committed before it is evaluated (atomically, so
parallel guesses cannot all slip in before the lock): the count must survive the failing
request, or the lock would never close. Everything else is one
transaction per change, audited without any secret in the event.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.access.credentials import (
    FAILED,
    ResetTarget,
    Secrets,
    check_password,
    check_registration_number,
    draw_position,
    next_midnight,
    temporary_password,
    temporary_registration_number,
)
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.directory import get_subscriber
from certsvc.domain.business_days import BusinessCalendar
from certsvc.domain.public_address import public_address
from certsvc.errors import AuthenticationFailed, Conflict, InputError, NotFound
from certsvc.gate import ChangeGate
from certsvc.notify.outbox import enqueue
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Credential, Subscriber


@dataclass(frozen=True)
class Login:
    """What a subscriber types: user ID, password, the challenge digits, maybe a new password."""

    user_id: str
    password: str
    challenge: str
    new_password: str | None = None
    source: str | None = None  # the client's address, for the audit of a failed login


@dataclass(frozen=True)
class ResetDone:
    """What an operator's reset answers: what was reset, until when, where it was mailed;
    the temporary values themselves travel only in the mail."""

    reset: ResetTarget
    expires_at: datetime
    mailed_to: str


def subscriber_actor(subscriber: Subscriber) -> Actor:
    return Actor(f"subscriber:{subscriber.tenant.company_number}/{subscriber.user_id}")


class Accounts:
    """Credential operations for the API, the CLI and the pickup flow."""

    def __init__(
        self, sessions: SessionFactory, clock: Clock, settings: Settings, secrets: Secrets
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self.rules = settings.credentials
        self.secrets = secrets
        self.gate = ChangeGate.of(sessions, settings, clock)
        business = settings.business
        self.calendar = BusinessCalendar(business.holiday_country, business.closed_dates)

    def set(self, company_number: str, user_id: str, password: str, number: str, by: Actor) -> None:
        """Register (or replace) the credentials of the registration letter; lifts a lock."""
        check_password(password)
        check_registration_number(number)
        self.gate.admit(by, "credentials.set")
        now = self.clock.now()
        with transaction(self.sessions) as session:
            subscriber = get_subscriber(session, company_number, user_id)
            row = _credential(session, subscriber.id)
            before = _state(row, now) if row else None
            if row is None:
                row = Credential(subscriber=subscriber, history=[], challenge_position=1)
                session.add(row)
            self._replace_password(row, password, now)
            row.registration_windows = self.secrets.registration_windows(subscriber.id, number)
            row.challenge_position = draw_position()
            _unlock(row)
            audit.record(
                session,
                by,
                "credentials.set",
                now,
                company_number=company_number,
                before=before,
                after={"user_id": user_id, **_state(row, now)},
            )

    def reset(
        self,
        company_number: str,
        user_id: str,
        by: Actor,
        *,
        helpdesk: bool,
        what: ResetTarget = ResetTarget.BOTH,
    ) -> ResetDone:
        """An operator's reset: temporary credentials valid 24 hours, mailed to the
        subscriber's registered address (never answered); the lock is lifted.

        The helpdesk resets only on its working days: its weekdays (default Tuesday and
        Thursday) that are business days (not public holidays, not closed dates).
        """
        now = self.clock.now()
        if helpdesk:
            self._refuse_closed_day(now)
        self.gate.admit(by, "credentials.reset")
        valid = timedelta(hours=self.rules.helpdesk_reset_hours)
        with transaction(self.sessions) as session:
            subscriber = get_subscriber(session, company_number, user_id)
            row = _credential(session, subscriber.id)
            if row is None:
                raise NotFound("credentials", f"{company_number}/{user_id}")
            until = now + valid
            self._issue_temporary(session, row, by, ("helpdesk", what), until)
            return ResetDone(what, until, subscriber.email)

    def self_reset(self, company_number: str, user_id: str, email: str, what: ResetTarget) -> None:
        """Self-service reset (also while locked): temporary credentials valid 1 hour,
        mailed to the registered address, which ``email`` must match.

        Answers nothing and raises nothing for a wrong address or an unknown subscriber,
        so the caller's answer is the same whatever happened and addresses cannot be
        probed; a mismatch resets nothing and is audited.
        """
        actor = Actor(f"subscriber:{company_number}/{user_id}")
        self.gate.admit(actor, "credentials.self_reset")
        now = self.clock.now()
        with transaction(self.sessions) as session:
            row = self._find(session, company_number, user_id)
            if row is None or not _same_address(row.subscriber.email, email):
                self.secrets.burn(email)  # as slow as the success path's password hash
                if row is not None:
                    audit.record(
                        session,
                        actor,
                        "credentials.self_reset_refused",
                        now,
                        company_number=company_number,
                        after={"user_id": user_id, "reset": what.value, "why": "address"},
                    )
                return
            until = now + timedelta(minutes=self.rules.self_reset_minutes)
            self._issue_temporary(session, row, actor, ("self-service", what), until)

    def _refuse_closed_day(self, now: datetime) -> None:
        today = now.astimezone(self.settings.zone).date()
        days = self.rules.helpdesk_days
        closure = self.calendar.closure(today, days)
        if closure is None:
            return
        upcoming = self.calendar.next_open(today, days)
        after = f"; next possible day: {_weekday_text(upcoming)}" if upcoming else ""
        raise Conflict(
            f"the helpdesk resets credentials only on its working days "
            f"({', '.join(day.capitalize() for day in days)}, not public holidays): "
            f"{closure.reason}{after}"
        )

    def challenge_position(self, subscriber_id: int) -> int:
        """The position the next login must answer; redrawn after every attempt."""
        with self.sessions() as session:
            row = _credential(session, subscriber_id)
            if row is None:
                raise Conflict("no credentials are registered for this subscriber yet")
            return row.challenge_position

    def locked_until(self, subscriber_id: int) -> datetime | None:
        """When a locked account opens again (None: not locked); the pages say so."""
        now = self.clock.now()
        with self.sessions() as session:
            row = _credential(session, subscriber_id)
            return row.locked_until if row is not None and _locked(row, now) else None

    def authenticate(self, subscriber_id: int, login: Login, *, holder: bool = False) -> str:
        """Check a login against the subscriber's credentials; the password in force after.

        ``holder``: the subscriber proved possession of their current certificate through
        the gateway (``/renew``), which stands in for the registration-number challenge.

        An attempt is counted (and committed) before the login is evaluated, by one
        atomic ``UPDATE ... RETURNING``: however many guesses arrive at once, no more than
        the limit are ever evaluated. A temporary or expired password must be replaced in
        the same login (``new_password``). Any failure is the one ``AuthenticationFailed``.
        """
        if login.new_password is not None:
            check_password(login.new_password, "new_password")
        now = self.clock.now()
        attempt = self._count_attempt(subscriber_id, now)
        with transaction(self.sessions) as session:
            row = _credential(session, subscriber_id)
            refused: InputError | None = None
            if row is None or attempt is None:
                self.secrets.burn(login.password)  # no credentials, or locked: not evaluated
            elif self._login_matches(row, login, now, holder):
                _unlock(row)  # committed even when a new password is still asked for
                settled = self._settle_or_refuse(row, login, now)
                if isinstance(settled, str):
                    row.challenge_position = draw_position()
                    return settled
                refused = settled
            else:
                self._fail(session, row, now, counted=attempt)
            if row is not None and refused is None:
                _audit_failed_login(session, row, now, login.source)
        raise refused or AuthenticationFailed(FAILED)

    def _settle_or_refuse(self, row: Credential, login: Login, now: datetime) -> str | InputError:
        try:
            return self._settle_password(row, login, now)
        except InputError as exc:
            return exc

    def _count_attempt(self, subscriber_id: int, now: datetime) -> int | None:
        """Count one attempt up front; None when the account is locked (or unknown).

        A lock that has lifted starts the count again.
        """
        lapsed = (Credential.locked_until.is_not(None)) & (Credential.locked_until <= now)
        open_ = Credential.locked_until.is_(None) & (
            Credential.failed_attempts < self.rules.max_failures
        )
        with transaction(self.sessions) as session:
            counted = session.execute(
                update(Credential)
                .where(Credential.subscriber_id == subscriber_id, lapsed | open_)
                .values(
                    failed_attempts=case((lapsed, 1), else_=Credential.failed_attempts + 1),
                    locked_until=case((lapsed, None), else_=Credential.locked_until),
                )
                .returning(Credential.failed_attempts)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
        return counted

    def _login_matches(self, row: Credential, login: Login, now: datetime, holder: bool) -> bool:
        """Every part is checked, whatever fails first, so timing says nothing."""
        user_ok = hmac.compare_digest(row.subscriber.user_id.encode(), login.user_id.encode())
        password_ok = self.secrets.password_matches(row.password_hash, login.password)
        challenge_ok = holder or self.secrets.window_matches(
            row.registration_windows, row.subscriber_id, row.challenge_position, login.challenge
        )
        temporary_ok = row.temporary_until is None or now < row.temporary_until
        number_ok = row.temporary_number_until is None or now < row.temporary_number_until
        return user_ok & password_ok & challenge_ok & temporary_ok & number_ok

    def _settle_password(self, row: Credential, login: Login, now: datetime) -> str:
        row.temporary_number_until = None  # a temporary number used in time is in force
        expired = now >= row.password_set_at + timedelta(days=self.rules.password_max_age_days)
        if login.new_password is not None:
            self._replace_password(row, login.new_password, now)
            return login.new_password
        if row.temporary_until is not None or expired:
            raise InputError(
                "the password is temporary or has expired: choose a new one (new_password)",
                "new_password",
            )
        return login.password

    def _replace_password(self, row: Credential, password: str, now: datetime) -> None:
        """Set a chosen password; the last ``password_history`` ones are refused."""
        keep = self.rules.password_history
        history = list(row.history or [])[:keep]
        if any(self.secrets.password_matches(old, password) for old in history):
            raise InputError(
                f"this password was used recently: the last {keep} cannot be reused", "password"
            )
        hashed = self.secrets.hash_password(password)
        row.password_hash = hashed
        row.history = [hashed, *history][:keep] if keep else []
        row.password_set_at = now
        row.temporary_until = None

    def _issue_temporary(
        self,
        session: Session,
        row: Credential,
        by: Actor,
        kind: tuple[str, ResetTarget],
        until: datetime,
    ) -> None:
        """Replace what was chosen by temporary values, lift the lock, and queue the one
        mail that carries them (the audit event names what was reset, never a value)."""
        now = self.clock.now()
        (who, what), before = kind, _state(row, now)
        secrets_out: dict[str, str] = {}
        if what.password:
            secrets_out["temporary_password"] = password = temporary_password()
            row.password_hash = self.secrets.hash_password(password)
            row.temporary_until = until
        if what.number:
            number = temporary_registration_number()
            secrets_out["temporary_registration_number"] = number
            row.registration_windows = self.secrets.registration_windows(row.subscriber_id, number)
            row.temporary_number_until = until
        row.challenge_position = draw_position()
        _unlock(row)
        subscriber = row.subscriber
        tenant = subscriber.tenant
        audit.record(
            session,
            by,
            "credentials.reset",
            now,
            company_number=tenant.company_number,
            before=before,
            after={"user_id": subscriber.user_id, "reset": who, "what": what.value}
            | _state(row, now),
        )
        enqueue(
            session,
            channel="mail",
            kind="credentials.reset",
            dedupe_key=f"credentials.reset:{uuid.uuid4()}",  # one mail per reset
            recipient=subscriber.email,
            payload={
                "company_number": tenant.company_number,
                "company_name": tenant.name,
                "user_id": subscriber.user_id,
                "display_name": subscriber.display_name,
                "locale": subscriber.locale,
                "reset": who,
                "what": what.value,
                "expires_at": until.isoformat(),
                "reset_url": f"{public_address(self.settings).origin}/reset",
                **secrets_out,
            },
            at=now,
        )

    def _fail(
        self, session: Session, row: Credential, now: datetime, counted: int | None = None
    ) -> None:
        """Count a failure; the last one allowed locks the account until tomorrow.

        ``counted``: the attempt was counted already (``_count_attempt``), as this many.
        """
        row.challenge_position = draw_position()
        if counted is None:
            if row.locked_until is not None:  # an old lock has lifted: start counting again
                _unlock(row)
            row.failed_attempts += 1
            counted = row.failed_attempts
        if counted < self.rules.max_failures or _locked(row, now):
            return
        row.locked_until = next_midnight(now, self.settings.zone)
        subscriber = row.subscriber
        audit.record(
            session,
            subscriber_actor(subscriber),
            "credentials.locked",
            now,
            company_number=subscriber.tenant.company_number,
            after={"user_id": subscriber.user_id, **_state(row, now)},
        )

    def _find(self, session: Session, company_number: str, user_id: str) -> Credential | None:
        try:
            subscriber = get_subscriber(session, company_number, user_id)
        except NotFound:
            return None
        return _credential(session, subscriber.id)


def _credential(session: Session, subscriber_id: int) -> Credential | None:
    return session.scalar(select(Credential).where(Credential.subscriber_id == subscriber_id))


def _locked(row: Credential, now: datetime) -> bool:
    return row.locked_until is not None and now < row.locked_until


def _unlock(row: Credential) -> None:
    row.failed_attempts = 0
    row.locked_until = None


def _audit_failed_login(
    session: Session, row: Credential, now: datetime, source: str | None
) -> None:
    """Who failed, when, from where, and whether the account is locked now; never what
    was typed."""
    subscriber = row.subscriber
    audit.record(
        session,
        subscriber_actor(subscriber),
        "credentials.login_failed",
        now,
        company_number=subscriber.tenant.company_number,
        after={"user_id": subscriber.user_id, "source": source, **_state(row, now)},
    )


def _same_address(registered: str, given: str) -> bool:
    """The registered address, compared without case (mail systems ignore it in
    practice) and in constant time."""
    return hmac.compare_digest(
        registered.strip().casefold().encode(), given.strip().casefold().encode()
    )


def _weekday_text(day: date) -> str:
    return f"{day.isoformat()} ({day.strftime('%A')})"


def _state(row: Credential, now: datetime) -> dict[str, object]:
    """What the audit trail may see of credentials: never a hash, never a digit."""
    return {
        "locked": _locked(row, now),
        "failed_attempts": row.failed_attempts,
        "temporary_until": row.temporary_until.isoformat() if row.temporary_until else None,
        "temporary_number_until": (
            row.temporary_number_until.isoformat() if row.temporary_number_until else None
        ),
    }
