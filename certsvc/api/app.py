"""The FastAPI application factory: one app for the gateway feed and the helpdesk API.

Routers are thin: they parse, call ``lifecycle`` (or a feed reader), and render.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from certsvc import __version__
from certsvc.api import allowlist, ca_certs, crl, ocsp, ops, problems, v1
from certsvc.api.check import CheckFastPath
from certsvc.api.guards import GuardParts, RequestGuard
from certsvc.app import Services


def create_app(services: Services) -> FastAPI:
    """Build the app around ``services`` (no globals: tests build one per test)."""
    app = FastAPI(title="certsvc", version=__version__, lifespan=_gateway_loop(services))
    app.state.services = services
    problems.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(ops.router)
    app.include_router(crl.router)
    app.include_router(ca_certs.router)
    app.include_router(allowlist.router)
    app.include_router(ocsp.router)
    app.include_router(v1.router())
    limits = services.settings.limits
    guard = GuardParts(
        limits.max_body_bytes,
        services.maintenance,
        services.clock,
        services.tokens,
        services.idempotency,
    )
    app.add_middleware(RequestGuard, parts=guard)
    gateway = services.gateway
    app.add_middleware(CheckFastPath, checker=gateway.checker, access=gateway.access)
    return app


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
