"""The FastAPI application factory: one app for the gateway feed and the helpdesk API.

Routers are thin: they parse, call ``lifecycle`` (or a feed reader), and render.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from certsvc import __version__
from certsvc.access.credentials import ResetTarget
from certsvc.api import allowlist, ca_certs, crl, docs, ocsp, openapi_problems, ops, problems, v1
from certsvc.api.check import CheckFastPath
from certsvc.api.guards import GuardParts, RequestGuard
from certsvc.api.observe import AccessLog, HTTPMetrics
from certsvc.app import Services
from certsvc.feed.service_metrics import ServiceCollector
from certsvc.lifecycle.console_reads import ConsoleReads
from certsvc.web import SelfReset, SelfResetRequest, WebParts, console, mount


def create_app(services: Services) -> FastAPI:
    """Build the app around ``services`` (no globals: tests build one per test)."""
    app = FastAPI(
        title="certsvc",
        version=__version__,
        lifespan=_gateway_loop(services),
        docs_url=None,  # served by docs.install, with no CDN
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    openapi_problems.declare(app)
    docs.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(ops.router)
    app.include_router(crl.router)
    app.include_router(ca_certs.router)
    app.include_router(allowlist.router)
    app.include_router(ocsp.router)
    app.include_router(v1.router())
    mount(app, web_parts(services))
    console.mount(app, console_parts(services))
    limits = services.settings.limits
    guard = GuardParts(
        limits.max_body_bytes,
        services.tokens,
        services.idempotency,
        services.settings.http.body_timeout_seconds,
    )
    app.add_middleware(RequestGuard, parts=guard)
    gateway = services.gateway
    app.add_middleware(CheckFastPath, checker=gateway.checker, access=gateway.access)
    registry = gateway.metrics.registry
    registry.register(ServiceCollector(services.sessions, services.clock, _ca_expiry(services)))
    app.add_middleware(AccessLog, metrics=HTTPMetrics(registry), timer=services.timer)
    return app


def web_parts(services: Services) -> WebParts:
    """The parts the subscriber pages call: the same objects as the JSON API's."""
    return WebParts(
        settings=services.settings,
        clock=services.clock,
        maintenance=services.maintenance,
        pickups=services.pickups,
        accounts=services.accounts,
        lifecycle=services.lifecycle,
        tokens=services.tokens,
        trust_chain=services.adapter.trust_chain,
        self_reset=self_reset_of(services),
    )


def console_parts(services: Services) -> console.ConsoleParts:
    """The parts the helpdesk console calls: the same objects as the JSON API's."""
    reads = ConsoleReads(services.sessions, services.clock, services.settings, services.lifecycle)
    return console.ConsoleParts(
        sessions=services.console_sessions,
        reads=reads,
        lifecycle=services.lifecycle,
        pickups=services.pickups,
        accounts=services.accounts,
        directory=services.directory,
    )


def _ca_expiry(services: Services) -> Callable[[], list[tuple[str, datetime]]]:
    """notAfter of every CA of the chain, by its common name (read once, on first scrape)."""
    chain: list[tuple[str, datetime]] = []

    def expiry() -> list[tuple[str, datetime]]:
        if not chain:
            for ca in services.adapter.trust_chain():
                names = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                label = str(names[0].value) if names else ca.subject.rfc4514_string()
                chain.append((label, ca.not_valid_after_utc))
        return chain

    return expiry


def _gateway_loop(
    services: Services,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Keep the gateway feed current while the app serves (started by uvicorn's lifespan)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(services.gateway.run(stop))
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan


def self_reset_of(services: Services) -> SelfReset:
    """The reset page's call: ``Accounts.self_reset``, which answers nothing either way."""
    accounts = services.accounts

    def self_reset(request: SelfResetRequest) -> None:
        what = ResetTarget(request.reset)
        accounts.self_reset(request.company_number, request.user_id, request.email, what)

    return self_reset
