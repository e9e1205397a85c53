"""How a route finds the parts it uses: ``app.state.services`` (no module globals)."""

from __future__ import annotations

from starlette.requests import Request

from certsvc.app import Services
from certsvc.feed.runtime import Gateway


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def gateway_of(request: Request) -> Gateway:
    return services_of(request).gateway
