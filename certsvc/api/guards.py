"""What every request passes before a route: the body cap and the ``Idempotency-Key``
replay of a POST. The maintenance window is not checked here but below every edge
(``certsvc.gate``): the operation refuses, its ``MaintenanceWindow`` answers 503 with
Retry-After, and a refused keyed POST gives its key back (5xx answers are not kept).

A pure ASGI middleware, so the body is read once (and never more than the cap), a
refusal costs no route work, and a POST's answer can be captured for replay. Database
calls run in the thread pool, like the routes'.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from certsvc.access.idempotency import (
    REQUEST_KEY,
    IdempotencyStore,
    StoredAnswer,
    request_key_of,
)
from certsvc.access.tokens import Tokens
from certsvc.api.problems import for_error, problem
from certsvc.errors import CertsvcError, InputError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PREFIX = "/api/v1/pickup"
"""Subscriber pickup: single-use links; answers may hold a private key, never stored."""


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class GuardParts:
    """What the guard checks a request against; the app factory hands them over."""

    max_body_bytes: int
    tokens: Tokens
    idempotency: IdempotencyStore
    body_timeout_seconds: float = 30.0


class RequestGuard:
    """Body cap (413), slow-body deadline (408), NUL refusal (422), idempotent POST replay."""

    def __init__(self, app: ASGIApp, parts: GuardParts) -> None:
        self.app = app
        self.parts = parts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _refuse_nul(scope)
            body = await self._read_body(scope, receive)
        except TimeoutError:
            limit = self.parts.body_timeout_seconds
            await problem(408, "request-timeout", f"request body not complete within {limit:g} s")(
                scope, receive, send
            )
            return
        except _TooLarge:
            cap = self.parts.max_body_bytes
            await problem(413, "payload-too-large", f"request body over {cap} bytes")(
                scope, receive, send
            )
            return
        except CertsvcError as error:
            await for_error(error)(scope, receive, send)
            return
        replay = _replaying(body, receive)
        key = Headers(scope=scope).get("idempotency-key")
        if scope["method"] == "POST" and key is not None and _keyed_path(scope):
            await self._idempotent(scope, replay, send, key, body)
        else:
            await self.app(scope, replay, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        cap = self.parts.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self.parts.body_timeout_seconds):  # a slow body holds nothing
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > cap:
                    raise _TooLarge
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        return b"".join(chunks)

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, key: str, body: bytes
    ) -> None:
        store = self.parts.idempotency
        token = _bearer(scope)
        if token is None or not await run_in_threadpool(self.parts.tokens.is_active, token):
            await self.app(scope, receive, send)  # the route answers 401
            return
        digest = store.request_hash(scope["method"], scope["path"], body)
        try:
            stored = await run_in_threadpool(store.begin, token, key, digest)
        except CertsvcError as error:
            await for_error(error)(scope, receive, send)
            return
        if stored is not None:
            await _send_stored(stored, send)
            return
        capture = _Capture(send)
        named = REQUEST_KEY.set(request_key_of(token, key))
        try:
            await self.app(scope, receive, capture.send)
        except BaseException:
            await run_in_threadpool(store.abandon, token, key)
            raise
        finally:
            REQUEST_KEY.reset(named)
        if capture.status >= 500 or capture.status in (401, 403) or capture.retry_later:
            await run_in_threadpool(store.abandon, token, key)
            return
        kept = None if capture.secret else capture.body
        await run_in_threadpool(
            store.finish, token, key, capture.status, capture.content_type, kept
        )


def _refuse_nul(scope: Scope) -> None:
    """No field of ours has a use for NUL, and PostgreSQL text cannot hold it: a query or
    path carrying one is bad input (422), not a database error (500)."""
    if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"").lower():
        raise InputError("NUL characters are not allowed in a request")


def _keyed_path(scope: Scope) -> bool:
    path: str = scope["path"]
    return path.startswith("/api/v1/") and not path.startswith(PUBLIC_PREFIX)


def _bearer(scope: Scope) -> str | None:
    """The hash of the bearer token: the scope of the caller's idempotency keys."""
    value = Headers(scope=scope).get("authorization", "")
    kind, _, secret = value.partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        return None
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def _replaying(body: bytes, original: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then waits on the real
    one: an answer that listens for the client leaving (a file, a stream) must not hear
    a made-up ``http.disconnect`` and stop after its headers."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send_stored(stored: StoredAnswer, send: Send) -> None:
    headers = [(b"idempotent-replayed", b"true")]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode()))
    body = stored.body or b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Capture:
    """Passes the answer through while keeping a copy for the idempotency store."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500
        self.content_type: str | None = None
        self.secret = False
        self.retry_later = False
        """An answer with Retry-After is not final: the key is given back."""
        self.chunks: list[bytes] = []

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = Headers(raw=message.get("headers", []))
            self.content_type = headers.get("content-type")
            self.secret = "no-store" in headers.get("cache-control", "")
            self.retry_later = "retry-after" in headers
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self._send(message)
