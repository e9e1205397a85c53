"""Signed push to gateways on every feed change (Standard Webhooks), via the outbox.

The feed watcher queues one ``webhook`` outbox message per configured URL and feed
version; a sender posts it with ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256>`` (one signature per configured secret,
so keys can rotate). The body only says "changed, pull now": the pull endpoints stay
the source of truth. Delivery is at least once: a message is marked sent only after a
2xx, otherwise retried with backoff; receivers de-duplicate by ``webhook-id``.
``webhook-timestamp`` is wall-clock time, because receivers compare it with theirs.
Secrets (``whsec_<base64>``) come from the environment or a file and are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.clock import Clock, SystemClock
from certsvc.config import Settings
from certsvc.db import SessionFactory, transaction
from certsvc.errors import ConfigError, DeliveryFailed
from certsvc.models import OutboxMessage
from certsvc.notify.outbox import enqueue

CHANNEL, KIND = "webhook", "gateway.feed.changed"
SECRET_PREFIX = "whsec_"
MAX_BACKOFF = timedelta(hours=1)
DRAIN_BATCH = 50


def load_secrets(settings: Settings) -> list[bytes]:
    """The signing keys, from ``[webhooks] secrets_env`` and/or ``secrets_file``."""
    config = settings.webhooks
    words = os.environ.get(config.secrets_env, "").split() if config.secrets_env else []
    if config.secrets_file:
        path = settings.path(config.secrets_file, "")
        try:
            words += path.read_text().split()
        except OSError as exc:
            raise ConfigError(f"webhook secrets file unreadable: {path}") from exc
    keys = []
    for number, word in enumerate(words, start=1):
        try:
            if not word.startswith(SECRET_PREFIX):
                raise ValueError
            keys.append(base64.b64decode(word.removeprefix(SECRET_PREFIX), validate=True))
        except (ValueError, binascii.Error):
            raise ConfigError(f"webhook secret #{number} is not whsec_<base64>") from None
    if config.urls and not keys:
        raise ConfigError(f"webhook urls are set but no secret: set {config.secrets_env}")
    return keys


def signature(keys: list[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<sig>`` for each key, space-separated (the Standard Webhooks header value)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


def queue_feed_change(session: Session, urls: tuple[str, ...], version: int, at: datetime) -> int:
    """Queue "feed changed to ``version``" for every URL (idempotent per URL and version)."""
    queued = 0
    for url in urls:
        tag = hashlib.sha256(url.encode()).hexdigest()[:16]
        queued += enqueue(
            session,
            channel=CHANNEL,
            kind=KIND,
            dedupe_key=f"{CHANNEL}:{tag}:{version}",
            recipient=url,
            payload={"version": version},
            at=at,
        )
    return queued


class WebhookSender:
    """Delivers one ``webhook`` outbox message; raises ``DeliveryFailed`` unless a 2xx came back.

    It is the sender the outbox drain calls for channel ``webhook``.
    """

    def __init__(self, keys: list[bytes], timeout: float, wall: Clock | None = None) -> None:
        self._keys = keys
        self._timeout = timeout
        self._wall = wall or SystemClock()
        self._http = requests.Session()

    def __call__(self, message: OutboxMessage) -> None:
        body = json.dumps(
            {
                "type": message.kind,
                "timestamp": message.created_at.isoformat(),
                "data": message.payload,
            },
            separators=(",", ":"),
        ).encode()
        message_id = f"msg_certsvc_{message.id}"
        timestamp = int(self._wall.now().timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(self._keys, message_id, timestamp, body),
        }
        try:
            answer = self._http.post(
                message.recipient, data=body, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise DeliveryFailed(f"webhook to {message.recipient}: {type(exc).__name__}") from exc
        if not 200 <= answer.status_code < 300:
            raise DeliveryFailed(f"webhook to {message.recipient}: HTTP {answer.status_code}")


def drain(
    sessions: SessionFactory, sender: WebhookSender, clock: Clock, max_attempts: int
) -> tuple[int, int]:
    """Send due webhook messages once each; returns (sent, failed).

    A stand-in until the scheduler's outbox drain delivers channel ``webhook`` with
    ``WebhookSender``; both may run (at least once: receivers de-duplicate by id).
    """
    now = clock.now()
    with sessions() as session:
        due = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == CHANNEL,
                OutboxMessage.status == "queued",
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(DRAIN_BATCH)
        ).all()
    sent = failed = 0
    for message in due:
        error: str | None = None
        try:
            sender(message)
            sent += 1
        except DeliveryFailed as exc:
            error = str(exc)
            failed += 1
        _record(sessions, message.id, error, now, max_attempts)
    return sent, failed


def _record(
    sessions: SessionFactory, message_id: int, error: str | None, now: datetime, max_attempts: int
) -> None:
    with transaction(sessions) as session:
        row = session.get_one(OutboxMessage, message_id)
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
            return
        row.last_error = error
        if row.attempts >= max_attempts:
            row.status = "failed"
        else:
            row.next_attempt_at = now + min(timedelta(seconds=2**row.attempts), MAX_BACKOFF)
