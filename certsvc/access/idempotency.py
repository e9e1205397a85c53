"""Idempotency keys: a retried POST gets the first answer instead of a second change.

A key belongs to one caller (``scope``, the hash of its token). The first request with a
key inserts a row "in progress" (the unique constraint settles a race between two
copies), runs, and stores its answer; the same key and body later get that answer back,
the same key with another body is refused. Answers that carried a secret (a temporary
password) are never stored: a replay of such a request is refused instead.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from certsvc.clock import Clock
from certsvc.errors import Conflict, InputError
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import IdempotencyRecord

IN_PROGRESS = 0
MAX_KEY = 255


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
                    )
                )
            return None
        except IntegrityError:
            return self._existing(scope, key, request_hash)

    def _existing(self, scope: str, key: str, request_hash: str) -> StoredAnswer:
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
            raise Conflict("a request with this Idempotency-Key is still in progress")
        if row.body is None:
            raise Conflict(
                "this request was already done; its answer held a secret and is not kept"
            )
        return StoredAnswer(row.status, row.content_type, row.body)

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
