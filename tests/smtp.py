"""A real SMTP server (aiosmtpd) on a free loopback port, with switches for refusals."""

from __future__ import annotations

import asyncio
import email
import threading
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Recorder:
    """Keeps every accepted message; ``refuse`` makes it answer RCPT with that reply."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: str | None = None
        self.attempts = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        with self.lock:
            self.attempts += 1
            if self.refuse is not None:
                return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class LoopbackController(Controller):
    """aiosmtpd's Controller bound to port 0: learns its port before the readiness probe."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
