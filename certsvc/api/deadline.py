"""A deadline for a request's headers: a client that opens a connection and sends half a
request line (or nothing) is cut off after ``[http] header_timeout_seconds``.

uvicorn times out idle keep-alive connections but not a request whose headers never
complete, so a few hundred slow clients could hold every connection. This subclass of
uvicorn's h11 protocol arms a timer whenever the server waits for a request's headers
(on connect and when the first bytes of the next request arrive) and disarms it once h11
has parsed them; when it fires the connection is closed. The body is the app's to read.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a bound on the time to receive a request's headers."""

    header_timeout: float = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()  # bytes of a new request: its headers must arrive in time
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the headers are in

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's ``http=``, with ``seconds`` as its header deadline."""
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
