"""Version 1 of the helpdesk and tenant API, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from certsvc.api.v1 import audit, certificates, outbox, pickup, pickups, subscribers, tenants


def router() -> APIRouter:
    """All v1 routes under one prefix."""
    v1 = APIRouter(prefix="/api/v1")
    for module in (certificates, tenants, subscribers, audit, pickup, pickups, outbox):
        v1.include_router(module.router)
    return v1
