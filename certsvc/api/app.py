"""The FastAPI application factory: one app for the gateway feed and the helpdesk API.

Routers are thin: they parse, call ``lifecycle`` (or a feed reader), and render.
"""

from __future__ import annotations

from fastapi import FastAPI

from certsvc import __version__
from certsvc.api import problems
from certsvc.services import Services


def create_app(services: Services) -> FastAPI:
    """Build the app around ``services`` (no globals: tests build one per test)."""
    app = FastAPI(title="certsvc", version=__version__)
    app.state.services = services
    problems.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
