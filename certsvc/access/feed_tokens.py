"""Who may read the gateway feed: a bearer token of role ``gateway`` or ``admin``.

``/gateway/check`` is asked by nginx's ``auth_request`` on every request of every
client, so a database query per request is out of the question. Each serving instance
keeps the SHA-256 hashes of the active tokens in memory, reloaded with every feed poll
(``[gateway] poll_seconds``): a new token works, and a revoked one is refused, within
one poll. The hash of the presented token is compared in constant time with every
accepted hash, so the answer time says nothing about how close a guess was. Last use is
written back at most once a minute, not per request. CRLs and OCSP stay public: a
gateway must be able to fetch them before anything else works.

With ``[gateway] require_token = false`` (loopback-only set-ups) the feed is open.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from certsvc.access.tokens import active_token_roles, record_use, token_hash
from certsvc.storage.db import SessionFactory, transaction

FEED_ROLES = frozenset({"gateway", "admin"})
UNAUTHORIZED, FORBIDDEN, NOT_READY = 401, 403, 503
NO_TOKEN = "missing, unknown or revoked API token (send Authorization: Bearer <gateway token>)"
LAST_USED_EVERY_SECONDS = 60.0

Refusal = tuple[int, str]


def bearer_secret(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The secret of an ``Authorization: Bearer`` header among raw ASGI headers."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            return None
    return None


class FeedAccess:
    """The in-memory token check in front of ``/gateway/allowlist``, ``/changes``, ``/check``."""

    def __init__(self, required: bool) -> None:
        self.required = required
        self.loaded = not required
        self._accepted: tuple[str, ...] = ()
        self._other_roles: dict[str, str] = {}
        self._used: set[str] = set()
        self._next_record = 0.0

    def load(self, session: Session) -> None:
        """Take the active tokens from the database (every poll; a small table)."""
        if not self.required:
            return
        roles = active_token_roles(session)
        self._accepted = tuple(digest for digest, role in roles.items() if role in FEED_ROLES)
        self._other_roles = {d: role for d, role in roles.items() if role not in FEED_ROLES}
        self.loaded = True

    def refuse(self, secret: str | None) -> Refusal | None:
        """``None`` when the caller may read the feed, else the status and why not."""
        if not self.required:
            return None
        if not self.loaded:
            return NOT_READY, "gateway tokens not loaded yet"
        if secret is None:
            return UNAUTHORIZED, NO_TOKEN
        digest = token_hash(secret)
        found = False
        for accepted in self._accepted:  # no early exit: time independent of the match
            found |= hmac.compare_digest(digest, accepted)
        if found:
            self._used.add(digest)
            return None
        role = self._other_roles.get(digest)
        if role is not None:
            return FORBIDDEN, f"role {role} may not read the gateway feed (gateway or admin)"
        return UNAUTHORIZED, NO_TOKEN

    def refuse_headers(self, headers: Iterable[tuple[bytes, bytes]]) -> Refusal | None:
        """``refuse`` for raw ASGI headers (the ``/gateway/check`` fast path)."""
        return self.refuse(bearer_secret(headers) if self.required else None)

    def record_use(self, sessions: SessionFactory, now: datetime) -> None:
        """Write ``last_used_at`` of the tokens seen since the last write (once a minute)."""
        if not self._used or time.monotonic() < self._next_record:
            return
        used, self._used = self._used, set()
        self._next_record = time.monotonic() + LAST_USED_EVERY_SECONDS
        with transaction(sessions) as session:
            record_use(session, used, now)
