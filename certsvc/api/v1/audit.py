"""``/api/v1/audit``: who changed what, under which ticket; a tenant-admin sees its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from certsvc import audit
from certsvc.api.auth import Operator, own_tenant
from certsvc.api.deps import ServicesDep
from certsvc.api.pagination import MAX_LIMIT, Page, paged_responses, paginate
from certsvc.api.v1.responses import AuditEventOut
from certsvc.audit import AuditFilter
from certsvc.clock import require_aware
from certsvc.domain.fingerprints import normalise_serial
from certsvc.errors import InputError

router = APIRouter(prefix="/audit", tags=["audit"])


def _aware(instant: datetime | None, name: str) -> datetime | None:
    if instant is None:
        return None
    try:
        return require_aware(instant)
    except ValueError as exc:
        raise InputError(f"{name} needs a UTC offset (e.g. 2026-11-26T09:00+09:00)", name) from exc


class AuditQuery(BaseModel):
    """The filters of ``GET /api/v1/audit``; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    company_number: str | None = Field(default=None, max_length=32)
    serial: str | None = Field(default=None, max_length=64)
    actor: str | None = Field(default=None, max_length=128)
    ticket: str | None = Field(default=None, max_length=128)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@router.get(
    "",
    summary="Audit events, oldest first (paged)",
    response_model=list[AuditEventOut],
    responses=paged_responses("One page of audit events"),
)
def events(
    request: Request,
    response: Response,
    query: Annotated[AuditQuery, Query()],
    caller: Operator,
    services: ServicesDep,
) -> list[dict[str, Any]]:
    company_number = query.company_number
    if company_number is not None:
        own_tenant(caller, company_number, "tenant", company_number)
    if caller.role == "tenant-admin":
        company_number = caller.company_number
    wanted = AuditFilter(
        company_number=company_number,
        serials=(normalise_serial(query.serial),) if query.serial else (),
        actor=query.actor,
        ticket=query.ticket,
        since=_aware(query.since, "since"),
        until=_aware(query.until, "until"),
        limit=query.limit,
        offset=query.offset,
    )
    with services.sessions() as session:
        found, total = audit.query(session, wanted), audit.count(session, wanted)
    return paginate(request, response, found, total, Page(query.limit, query.offset))
