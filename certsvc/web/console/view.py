"""Rendering a console page on the shared web layer (``render.page``: the one template
base, CSP, CSRF token and language switch), and turning a lower layer's refusal into the
page a helpdesk understands."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from certsvc.access.sessions import ActiveSession
from certsvc.errors import MaintenanceWindow
from certsvc.web.render import page


def show(
    request: Request,
    template: str,
    current: ActiveSession | None,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """``templates/console/{template}`` for the signed-in operator (or nobody)."""
    return page(
        request,
        f"console/{template}",
        status=status,
        operator=current.principal if current is not None else None,
        **context,
    )


def maintenance(request: Request, error: MaintenanceWindow) -> Response:
    """The shared maintenance page (503, Retry-After), as the subscriber pages show it."""
    response = page(request, "maintenance.html", status=503, secret=False, ends_at=error.ends_at)
    response.headers["Retry-After"] = format_datetime(error.ends_at.astimezone(UTC), usegmt=True)
    return response
