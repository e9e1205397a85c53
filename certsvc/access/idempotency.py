"""Idempotency keys: a retried POST gets the first answer instead of a second change.

A key belongs to one caller (``scope``, the hash of its token). The first request with a
key inserts a row "in progress" (the unique constraint settles a race between two
copies), runs, and stores its answer; the same key and body later get that answer back,
the same key with another body is refused. Answers that carried a secret (a temporary
password) are never stored: a replay of such a request is refused instead.

An in-progress record holds a lease (``lease_until``). A process killed mid-request
leaves it behind; until the lease lapses a retry is told to wait (409, Retry-After), and
after it lapses one retry (an atomic ``UPDATE``) takes the key over and runs the request
again. That second run cannot double anything: while a request runs, ``REQUEST_KEY``
holds a name derived from its caller and key, which a certificate request stores as its
``request_key``; a second run finds the first run's row and is refused (409: still
pending, settled by ``reconcile``; or done, naming the certificate) instead of asking
the CA again. A request with a new key for a pending public key is refused likewise.
"""

from __future__ import annotations

import hashlib
import hmac
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from certsvc.clock import Clock
from certsvc.errors import Conflict, InputError, StillPending
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import IdempotencyRecord

IN_PROGRESS = 0
MAX_KEY = 255
LEASE = timedelta(minutes=10)
"""How long a request may run before its holder is presumed dead: above the longest CA
call (the GlobalSign adapter's issue deadline, 300 s by default)."""


REQUEST_KEY: ContextVar[str | None] = ContextVar("certsvc_request_key", default=None)
"""While a request with an ``Idempotency-Key`` runs: the stable name of that request."""


def request_key_of(scope: str, key: str) -> str:
    """The same caller and key give the same name (64 hex digits, ``request_key``)."""
    return hashlib.sha256(scope.encode() + b"\x00" + key.encode()).hexdigest()


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    content_type: str | None
    body: bytes | None


class IdempotencyStore:
    def __init__(self, sessions: SessionFactory, clock: Clock, pepper: bytes) -> None:
        self.sessions = sessions
        self.clock = clock
        self.pepper = pepper

    def request_hash(self, method: str, path: str, body: bytes) -> str:
        """Keyed, so the hash of a body holding a password cannot be guessed back."""
        message = method.encode() + b"\x00" + path.encode() + b"\x00" + body
        return hmac.new(self.pepper, message, hashlib.sha256).hexdigest()

    def begin(self, scope: str, key: str, request_hash: str) -> StoredAnswer | None:
        """None: go ahead (the key is now taken); else the stored first answer.

        :raises InputError: the key was used with another request (422).
        :raises Conflict: the first request with this key is still running.
        """
        if not 1 <= len(key) <= MAX_KEY:
            raise InputError(f"Idempotency-Key must be 1-{MAX_KEY} characters", "Idempotency-Key")
        try:
            with transaction(self.sessions) as session:
                session.add(
                    IdempotencyRecord(
                        scope=scope,
                        key=key,
                        request_hash=request_hash,
                        status=IN_PROGRESS,
                        created_at=self.clock.now(),
                        lease_until=self.clock.now() + LEASE,
                    )
                )
            return None
        except IntegrityError:
            return self._existing(scope, key, request_hash)

    def _existing(self, scope: str, key: str, request_hash: str) -> StoredAnswer | None:
        with self.sessions() as session:
            row = session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            )
        if row is None:  # the first request failed and gave the key back meanwhile
            raise Conflict("a request with this Idempotency-Key was just abandoned; retry")
        if not hmac.compare_digest(row.request_hash, request_hash):
            raise InputError(
                "Idempotency-Key was already used with a different request", "Idempotency-Key"
            )
        if row.status == IN_PROGRESS:
            self._take_over(row)
            return None
        if row.body is None:
            raise Conflict(
                "this request was already done; its answer held a secret and is not kept"
            )
        return StoredAnswer(row.status, row.content_type, row.body)

    def _take_over(self, row: IdempotencyRecord) -> None:
        """Run the request again once its holder's lease has lapsed; only one retry wins.

        :raises StillPending: the lease still runs, or another retry took it over first.
        """
        now = self.clock.now()
        lease = row.lease_until or row.created_at + LEASE  # rows from before leases
        busy = "a request with this Idempotency-Key is still in progress"
        if lease > now:
            raise StillPending(busy, _seconds(lease - now))
        with transaction(self.sessions) as session:
            taken = session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.id == row.id,
                    IdempotencyRecord.status == IN_PROGRESS,
                    _lease_is(row.lease_until),
                )
                .values(lease_until=now + LEASE)
            )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise StillPending(busy, _seconds(LEASE))

    def finish(
        self, scope: str, key: str, status: int, content_type: str | None, body: bytes | None
    ) -> None:
        with transaction(self.sessions) as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
                .values(status=status, content_type=content_type, body=body)
            )

    def abandon(self, scope: str, key: str) -> None:
        """Give the key back (server error, maintenance): a retry may run again."""
        with transaction(self.sessions) as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            )


def _lease_is(lease: datetime | None) -> ColumnElement[bool]:
    column = IdempotencyRecord.lease_until
    return column.is_(None) if lease is None else column == lease


def _seconds(left: timedelta) -> int:
    return int(left.total_seconds()) + 1
