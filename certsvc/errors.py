"""The one error tree of certsvc.

Every failure a user can cause or meet is one of these; the CLI maps them to exit codes
and the HTTP API to problem+json statuses, so nothing above the domain needs to know
about SQLAlchemy, ``requests`` or HTTP statuses of a CA::

    CertsvcError
    ├── ConfigError              bad or missing configuration
    ├── InputError               bad input from a user (CSR, key, serial, password ...)
    ├── NotFound                 an unknown tenant, subscriber or certificate
    ├── Conflict                 the request clashes with the current state
    ├── MaintenanceWindow        changes are refused while the window is open
    ├── GatewayError             a gateway (nginx, HAProxy) did not take the feed
    ├── AuthenticationFailed     no valid token or credentials (one answer for every cause)
    │   └── PasswordChangeRequired   signed in, but a new password must be chosen first
    ├── PermissionDenied         the caller's role may not do this
    └── CAError                  the CA boundary
        ├── CAUnavailable        the CA could not be reached or did not answer in time
        │   ├── CADeadlineExceeded   an operation's total deadline passed
        │   └── CANotSent            failed before the request left: nothing was done
        ├── CARejected           the CA refused the request (policy, bad input)
        ├── CAAuthError          the CA refused our credentials
        └── QuotaExceeded        the account's issuance quota is used up

Constructors only store fields; they never log, write or call out.
"""

from __future__ import annotations

from datetime import datetime


class CertsvcError(Exception):
    """Root of every error certsvc raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(CertsvcError):
    """The configuration file or environment is unusable."""


class InputError(CertsvcError):
    """Input from a user is malformed or breaks a rule; ``field`` names what was wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(CertsvcError):
    """A named object does not exist; ``kind`` and ``key`` say which."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"unknown {kind}: {key}")
        self.kind = kind
        self.key = key


class Conflict(CertsvcError):
    """The request is well-formed but clashes with what is stored (already revoked ...)."""

    def __init__(self, message: str, serial: str | None = None) -> None:
        super().__init__(message)
        self.serial = serial


class StillPending(Conflict):
    """A request that clashes with one still running or still pending: not final, so an
    ``Idempotency-Key`` answered with it is given back; ``Retry-After`` says when to try."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = max(1, retry_after_seconds)


class MaintenanceWindow(CertsvcError):
    """Changes are refused until ``ends_at`` (the end of the maintenance window)."""

    def __init__(self, ends_at: datetime, shown: str = "") -> None:
        until = shown or ends_at.isoformat()
        super().__init__(f"maintenance window: changes are refused until {until}")
        self.ends_at = ends_at


class GatewayError(CertsvcError):
    """A gateway could not be updated (config test failed, reload not seen, socket error)."""


class AuthenticationFailed(CertsvcError):
    """Missing or wrong token or credentials; the message never says which part was wrong."""


class PasswordChangeRequired(AuthenticationFailed):
    """The console session is valid but may do nothing until the password is changed."""


class PermissionDenied(CertsvcError):
    """The caller is known but its role may not do this."""


class CAError(CertsvcError):
    """A failure at the CA boundary; ``adapter`` names the CA adapter."""

    def __init__(self, message: str, adapter: str = "") -> None:
        super().__init__(f"CA {adapter}: {message}" if adapter else f"CA: {message}")
        self.adapter = adapter


class CAUnavailable(CAError):
    """The CA could not be reached, was overloaded, or the deadline passed."""


class CADeadlineExceeded(CAUnavailable):
    """An operation (retries and polling included) ran out of its total deadline."""


class CANotSent(CAUnavailable):
    """The CA could not be used before a non-repeatable request was sent (login, policy):
    the CA did nothing, so no ``pending`` row is kept for it."""


class CARejected(CAError):
    """The CA refused the request; ``reason`` is its own description."""

    def __init__(self, reason: str, adapter: str = "") -> None:
        super().__init__(f"rejected: {reason}", adapter)
        self.reason = reason


class CAAuthError(CAError):
    """The CA refused our account credentials (login failed)."""


class QuotaExceeded(CAError):
    """The CA account has no issuance quota left."""
