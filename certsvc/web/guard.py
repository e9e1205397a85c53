"""What every page checks first: the maintenance window (a page saying until when) and,
for a POST, the CSRF token (a page saying to reload the form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from certsvc.web.parts import WebParts
from certsvc.web.render import page


def parts_of(request: Request) -> WebParts:
    """The parts the app factory put on ``app.state.web``."""
    parts: WebParts = request.app.state.web
    return parts


PartsDep = Annotated[WebParts, Depends(parts_of)]


def closed_for_maintenance(request: Request, parts: WebParts) -> Response | None:
    """The maintenance page (503, Retry-After) while the window is open, else None."""
    now = parts.clock.now()
    window = parts.maintenance.window_at(now) if parts.settings.maintenance.enabled else None
    if window is None:
        return None
    response = page(request, "maintenance.html", status=503, secret=False, ends_at=window.ends_at)
    response.headers["Retry-After"] = str(max(1, int((window.ends_at - now).total_seconds())))
    return response


def refused(request: Request) -> Response:
    """A form sent without its CSRF token (or with another browser's): 403, nothing done."""
    return page(request, "refused.html", status=403)
