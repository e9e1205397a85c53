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
from collections.abc import Sequence
from datetime import datetime

import requests
from sqlalchemy.orm import Session

from certsvc.clock import Clock, SystemClock
from certsvc.config import OutboxSettings, Settings
from certsvc.errors import ConfigError
from certsvc.notify.drain import Delivery, Done, OutboxItem
from certsvc.notify.outbox import enqueue

CHANNEL, KIND = "webhook", "gateway.feed.changed"
SECRET_PREFIX = "whsec_"
RETRY_FIRST_SECONDS = 2
LEASE_SECONDS = 60


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
    """The outbox sender of channel ``webhook``: posts each message, signed.

    A 2xx is ``sent``; a 4xx other than 408/429 is ``failed`` (the receiver refuses it
    for good); anything else, or no answer, is ``retry`` with the outbox's backoff.
    """

    def __init__(self, keys: list[bytes], timeout: float, wall: Clock | None = None) -> None:
        self._keys = keys
        self._timeout = timeout
        self._wall = wall or SystemClock()
        self._http = requests.Session()

    def deliver(self, items: Sequence[OutboxItem], done: Done) -> list[Delivery]:
        results = []
        for item in items:
            results.append(self._post(item))
            done(results[-1])
        return results

    def _post(self, item: OutboxItem) -> Delivery:
        sent_at = self._wall.now()
        body = json.dumps(
            {"type": item.kind, "timestamp": sent_at.isoformat(), "data": item.payload},
            separators=(",", ":"),
        ).encode()
        message_id = f"msg_certsvc_{item.id}"
        timestamp = int(sent_at.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(self._keys, message_id, timestamp, body),
        }
        try:
            answer = self._http.post(
                item.recipient, data=body, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            return Delivery(item.id, "retry", f"webhook to {item.recipient}: {type(exc).__name__}")
        status = answer.status_code
        if 200 <= status < 300:
            return Delivery(item.id, "sent")
        error = f"webhook to {item.recipient}: HTTP {status}"
        refused = 400 <= status < 500 and status not in (408, 429)
        return Delivery(item.id, "failed" if refused else "retry", error)


def webhook_rules(outbox: OutboxSettings) -> OutboxSettings:
    """Mail waits a minute before its first retry; a gateway wants its push within seconds."""
    return outbox.model_copy(
        update={"retry_first_seconds": RETRY_FIRST_SECONDS, "lease_seconds": LEASE_SECONDS}
    )
