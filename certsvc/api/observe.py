"""Per-request observability: one JSON access-log line and the HTTP metrics.

A pure ASGI middleware around the whole app, so every answer is seen, the guard's and the
gateway fast path's refusals included. The route is the template (``/api/v1/certificates/
{serial}``), never the concrete path: a serial or a pickup token never reaches a log line
or a metric label, and label sets stay bounded. Unknown paths are one label, ``unmatched``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from certsvc.clock import Timer
from certsvc.logging import get_logger

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ACTOR_KEY = "certsvc.actor"
UNMATCHED = "unmatched"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
log = get_logger("certsvc.access")


class HTTPMetrics:
    """Requests by route, method and status; latency by route."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "certsvc_http_requests",
            "HTTP requests by route template, method and status",
            ("route", "method", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "certsvc_http_request_duration_seconds",
            "HTTP request latency by route template",
            ("route",),
            buckets=BUCKETS,
            registry=registry,
        )


class RouteNames:
    """The full template of the route that answered a request.

    ``scope["route"]`` is the route as its own router declared it (``/{serial}/revoke``),
    without the prefixes it was included under, so the full template is the OpenAPI path
    that ends with it and matches the request's path. Routes left out of the schema
    (``/crl/{name}``, ``/readyz``) are declared without prefixes and keep their own.
    """

    def __init__(self) -> None:
        self._templates: list[tuple[str, re.Pattern[str]]] | None = None

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        local = getattr(route, "path_format", getattr(route, "path", None))
        if local is None:
            return UNMATCHED
        for template, pattern in self._compiled(scope.get("app")):
            if template.endswith(local) and pattern.fullmatch(scope["path"]):
                return template
        return str(local)

    def _compiled(self, app: Any) -> list[tuple[str, re.Pattern[str]]]:
        if self._templates is None:
            paths = app.openapi().get("paths", {}) if hasattr(app, "openapi") else {}
            self._templates = [(path, _pattern(path)) for path in paths]
        return self._templates


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


class AccessLog:
    """Logs ``http.request`` (route, method, status, duration, actor) and counts it."""

    def __init__(self, app: ASGIApp, metrics: HTTPMetrics, timer: Timer) -> None:
        self.app = app
        self.metrics = metrics
        self.timer = timer
        self.route_of = RouteNames()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.timer.monotonic()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._record(scope, status, self.timer.monotonic() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self.route_of(scope)
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)
        log.info(
            "http.request",
            method=scope["method"],
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            actor=scope.get(ACTOR_KEY, "-"),
            client=(scope.get("client") or ("-",))[0],
        )
