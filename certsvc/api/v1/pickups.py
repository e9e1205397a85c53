"""``/api/v1/pickups``: the helpdesk lists a tenant's pickup links and cancels one.

Links are named by id (the 202 answer of an issuance without CSR carries it); the token
is a secret that only the subscriber's mail carries and is never shown. The roles are
those of the other pickup routes; a tenant-admin sees and cancels only its tenant's
links, another tenant's is unknown (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from certsvc.api.auth import Operator, own_tenant
from certsvc.api.deps import ServicesDep
from certsvc.api.pagination import PageDep, paged_responses, paginate

router = APIRouter(prefix="/pickups", tags=["pickup"])
PickupId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class PickupOut(BaseModel):
    """One pickup link, without its secret; ``state`` is open, used, expired or cancelled."""

    id: int
    company_number: str
    user_id: str
    action: str
    serial: str | None
    state: str
    created_at: str
    expires_at: str
    used_at: str | None
    cancelled_at: str | None


@router.get(
    "",
    summary="List pickup links (paged, oldest first); a tenant-admin sees its own",
    response_model=list[PickupOut],
    responses=paged_responses("One page of pickup links"),
)
def list_pickups(
    request: Request,
    response: Response,
    caller: Operator,
    services: ServicesDep,
    page: PageDep,
    company_number: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    if company_number is not None:
        own_tenant(caller, company_number, "tenant", company_number)
    if caller.role == "tenant-admin":
        company_number = caller.company_number
    admin = services.pickup_admin
    views = [view.to_dict() for view in admin.list(company_number, page.limit, page.offset)]
    return paginate(request, response, views, admin.count(company_number), page)


@router.delete(
    "/{pickup_id}",
    summary="Cancel an unused pickup link (it stops working at once; audited)",
    response_model=PickupOut,
)
def cancel(
    pickup_id: PickupId,
    caller: Operator,
    services: ServicesDep,
    ticket: Annotated[str | None, Query(max_length=128, description="Helpdesk ticket.")] = None,
) -> dict[str, Any]:
    admin = services.pickup_admin
    own_tenant(caller, admin.company_of(pickup_id), "pickup", str(pickup_id))
    return admin.cancel(pickup_id, caller.actor(ticket)).to_dict()
