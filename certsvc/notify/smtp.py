"""The outbox's mail channel: render, build and send over SMTP with aiosmtplib.

One connection per batch (login once, many messages), so a nightly run's reminders go
out at hundreds per second. Outcomes follow SMTP: a 5xx answer to a message is permanent
(``failed``: the server will refuse it again), a 4xx answer or a lost connection is
temporary (``retry``). Trouble before any message is sent (connect, TLS, login) is
treated as temporary for the whole batch: fixing the server or the password must not
need every mail requeued by hand. The password never reaches a log or an error text.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from email.message import Message

import aiosmtplib
from jinja2 import TemplateError

from certsvc.clock import Clock
from certsvc.config import MailSettings
from certsvc.notify.drain import Delivery, Done, OutboxItem
from certsvc.notify.message import build_message, envelope_sender
from certsvc.notify.templates import MailRenderer, TemplateMissing

PERMANENT = 500
CONNECTIONS = 4
"""Parallel SMTP sessions per batch: while one waits for the server, another sends."""
PER_CONNECTION = 25


class MailSender:
    """A ``Sender`` for the ``mail`` channel."""

    def __init__(self, settings: MailSettings, renderer: MailRenderer, clock: Clock) -> None:
        self.settings = settings
        self.renderer = renderer
        self.clock = clock

    def deliver(self, items: Sequence[OutboxItem], done: Done) -> list[Delivery]:
        ready: list[tuple[int, Message]] = []
        results: list[Delivery] = []
        for item in items:
            try:
                ready.append((item.id, self.compose(item)))
            except (TemplateMissing, TemplateError, ValueError, KeyError) as exc:
                results.append(Delivery(item.id, "failed", f"cannot render: {exc}"))
        if ready:
            results.extend(asyncio.run(self._send_all(ready, done)))
        return results

    def compose(self, item: OutboxItem) -> Message:
        now = self.clock.now()
        rendered = self.renderer.render(item.kind, item.payload, now)
        return build_message(rendered, item.recipient, self.settings, now, item.dedupe_key)

    async def _send_all(self, ready: list[tuple[int, Message]], done: Done) -> list[Delivery]:
        """Share the batch out over a few sessions; small batches use one."""
        count = max(1, min(CONNECTIONS, len(ready) // PER_CONNECTION))
        shares = await asyncio.gather(
            *(self._send_share(ready[n::count], done) for n in range(count))
        )
        return [delivery for share in shares for delivery in share]

    async def _send_share(self, ready: list[tuple[int, Message]], done: Done) -> list[Delivery]:
        try:
            async with self._session() as client:
                return await self._send_each(client, ready, done)
        except (aiosmtplib.SMTPException, OSError) as exc:  # connect, TLS or login
            return [Delivery(id_, "retry", _describe(exc)) for id_, _ in ready]

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected, logged-in client whose socket is closed however the session ends."""
        client = self._client()
        transport: asyncio.Transport | None = None
        try:
            await client.connect()
            transport = (
                client.transport if isinstance(client.transport, asyncio.Transport) else None
            )
            if self.settings.username:
                await client.login(self.settings.username, self.settings.resolved_password())
            yield client
        finally:
            await _quit(client, transport)

    async def _send_each(
        self, client: aiosmtplib.SMTP, ready: list[tuple[int, Message]], done: Done
    ) -> list[Delivery]:
        """Send one by one; each outcome is recorded (``done``) before the next is sent."""
        results: list[Delivery] = []
        for index, (id_, message) in enumerate(ready):
            outcome = await self._send_one(client, id_, message)
            done(outcome)
            results.append(outcome)
            if outcome.outcome == "retry" and not client.is_connected:
                rest = ready[index + 1 :]
                results.extend(Delivery(i, "retry", outcome.error) for i, _ in rest)
                break
        return results

    async def _send_one(self, client: aiosmtplib.SMTP, id_: int, message: Message) -> Delivery:
        try:
            await client.send_message(message, sender=envelope_sender(self.settings.from_))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            permanent = all(code >= PERMANENT for code in codes)
            return Delivery(id_, "failed" if permanent else "retry", _describe(exc))
        except aiosmtplib.SMTPResponseException as exc:
            return Delivery(id_, "failed" if exc.code >= PERMANENT else "retry", _describe(exc))
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Delivery(id_, "retry", _describe(exc))
        return Delivery(id_, "sent")

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.tls_ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            tls_context=context if settings.security != "none" else None,
            timeout=settings.timeout_seconds,
        )


async def _quit(client: aiosmtplib.SMTP, transport: asyncio.Transport | None) -> None:
    """QUIT, then drop the socket: after QUIT no TLS close_notify is owed, and a transport
    left half-closed when ``asyncio.run`` ends its loop would leak its socket."""
    if client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)


def _describe(exc: Exception) -> str:
    """The server's answer or the network error, never our credentials."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(_describe(refusal) for refusal in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}".strip()
    return f"{type(exc).__name__}: {exc}"
