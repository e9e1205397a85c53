"""Server-rendered pages: the subscriber pages (pickup, renewal, reset) and what the
helpdesk console shares with them (``templates/base.html``, ``static/certsvc.css``,
``csrf``, ``i18n``, ``render.page``).

``mount`` is called by the API app factory; everything a page shows comes from the
lifecycle and access objects in ``WebParts``, the same the JSON API calls.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from certsvc.web import pickup, renew, reset
from certsvc.web.parts import SelfReset, SelfResetRequest, WebParts

__all__ = ["PREFIXES", "SelfReset", "SelfResetRequest", "WebParts", "mount"]

STATIC = Path(__file__).parent / "static"
PREFIXES = ("/pickup", "/reset", "/renew")
"""Paths whose POSTs answer the maintenance window with a page, not problem+json."""


def mount(app: FastAPI, parts: WebParts) -> None:
    app.state.web = parts
    app.include_router(pickup.router)
    app.include_router(reset.router)
    app.include_router(renew.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # through the gateway only /renew... reaches certsvc: the renewal page's assets
    app.mount(renew.STATIC_ROOT, StaticFiles(directory=STATIC), name="renew-static")
