"""``/gateway/check`` as a raw ASGI fast path in front of FastAPI.

nginx calls it on every request of every client, so it skips routing, dependency
injection and validation layers: read the headers, compare the gateway's token with the
in-memory set (``gateway.access``), look up a dict, answer. ``create_app``
installs it as a middleware; ``certsvc serve`` also wraps the whole app in it, which
halves the cost per check again (no Starlette/FastAPI layers at all).
"""

from __future__ import annotations

import functools
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from certsvc.access.feed_tokens import NOT_READY, UNAUTHORIZED, FeedAccess
from certsvc.api.problems import PROBLEM_JSON, problem_type
from certsvc.feed.check import Checker

CHECK_PATH = "/gateway/check"
TITLES = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 503: "not-ready"}


@functools.lru_cache(maxsize=64)
def _problem(status: int, detail: str) -> bytes:
    """problem+json bodies; the few distinct ones are encoded once."""
    title = TITLES.get(status, "error")
    body = {"type": problem_type(title), "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode()


class CheckFastPath:
    """ASGI middleware: answers ``GET /gateway/check``, passes everything else on.

    A missing or refused token answers 401 (403 for a token of another role); nginx's
    ``auth_request`` denies the client on either, so a gateway without a token denies
    every client rather than letting anyone in.
    """

    def __init__(self, app: ASGIApp, checker: Checker, access: FeedAccess) -> None:
        self.app = app
        self.checker = checker
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHECK_PATH:
            await self.app(scope, receive, send)
            return
        refused = self.access.refuse_headers(scope["headers"])
        if refused is None:
            status, detail = self.checker.decide(scope["headers"], scope["query_string"])
        else:
            status, detail = refused
            if status != NOT_READY:
                self.checker.counters["unauthorized"].inc()
        body = _problem(status, detail) if detail else b""
        headers = [(b"cache-control", b"no-store"), (b"content-length", str(len(body)).encode())]
        if body:
            headers.append((b"content-type", PROBLEM_JSON.encode()))
        if status == UNAUTHORIZED:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
