"""Bearer tokens and roles for the HTTP API.

``admin`` may do everything; ``helpdesk`` certificates and subscribers of any tenant;
``tenant-admin`` the same for its own tenant only, and another tenant's data is
answered 404 (as if it did not exist), never 403; ``gateway`` only the gateway feed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from certsvc.access.feed_tokens import FORBIDDEN, UNAUTHORIZED
from certsvc.access.tokens import Principal
from certsvc.api.deps import gateway_of, services_of
from certsvc.api.observe import ACTOR_KEY
from certsvc.errors import AuthenticationFailed, NotFound, PermissionDenied

_bearer = HTTPBearer(auto_error=False, description="An API token from `certsvc token create`.")
OPERATORS = ("admin", "helpdesk", "tenant-admin")


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise AuthenticationFailed("missing, unknown or revoked API token")
    caller = await run_in_threadpool(
        services_of(request).tokens.authenticate, credentials.credentials
    )
    request.scope[ACTOR_KEY] = caller.actor().name  # for the access log line
    return caller


def allow(*roles: str) -> Callable[..., object]:
    """A dependency that lets in only ``roles`` and hands over the principal."""

    async def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if caller.role not in roles:
            raise PermissionDenied(f"role {caller.role} may not do this")
        return caller

    return check


async def feed_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Lets in a ``gateway`` or ``admin`` token (or anyone when the feed is open)."""
    refused = gateway_of(request).access.refuse(credentials.credentials if credentials else None)
    if refused is None:
        return
    status, detail = refused
    if status == UNAUTHORIZED:
        raise AuthenticationFailed(detail)
    if status == FORBIDDEN:
        raise PermissionDenied(detail)
    raise HTTPException(status, detail, {"Retry-After": "1"})


Operator = Annotated[Principal, Depends(allow(*OPERATORS))]
Admin = Annotated[Principal, Depends(allow("admin"))]


def own_tenant(caller: Principal, company_number: str, kind: str, key: str) -> None:
    """A tenant-admin sees only its tenant: anything else does not exist for it."""
    if caller.role == "tenant-admin" and caller.company_number != company_number:
        raise NotFound(kind, key)
