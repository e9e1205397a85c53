"""How a route finds the parts it uses: ``app.state.services`` (no module globals).

Of the HTTP side only the app factory (``api.app``, ``api.server``) and this module know
the composition root; routers and ``api.auth`` take their parts through ``ServicesDep``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from certsvc.app import Services
from certsvc.feed.runtime import Gateway


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def gateway_of(request: Request) -> Gateway:
    return services_of(request).gateway


ServicesDep = Annotated[Services, Depends(services_of)]
