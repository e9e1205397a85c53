"""``/api/v1/audit``: who changed what, under which ticket; a tenant-admin sees its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from certsvc import audit
from certsvc.api.auth import Operator, ServicesDep, own_tenant
from certsvc.audit import AuditFilter
from certsvc.clock import require_aware
from certsvc.errors import InputError
from certsvc.fingerprints import normalise_serial

router = APIRouter(prefix="/audit", tags=["audit"])


def _aware(instant: datetime | None, name: str) -> datetime | None:
    if instant is None:
        return None
    try:
        return require_aware(instant)
    except ValueError as exc:
        raise InputError(f"{name} needs a UTC offset (e.g. 2026-11-26T09:00+09:00)", name) from exc


@router.get("", summary="Audit events, oldest first")
def events(
    caller: Operator,
    services: ServicesDep,
    company_number: Annotated[str | None, Query(max_length=32)] = None,
    serial: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    ticket: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    if caller.role == "tenant-admin":
        own_tenant(caller, company_number or "", "tenant", company_number or "")
        company_number = caller.company_number
    wanted = AuditFilter(
        company_number=company_number,
        serials=(normalise_serial(serial),) if serial else (),
        actor=actor,
        ticket=ticket,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        limit=limit,
        offset=offset,
    )
    with services.sessions() as session:
        return audit.query(session, wanted)
