"""``/api/v1/tenants``: register, list and show tenants, change a representative administrator.

Creating tenants and naming their administrator is the operator's (``admin``); the
helpdesk and the tenant's own administrator may read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from certsvc.api.auth import Admin, Operator, own_tenant
from certsvc.api.deps import ServicesDep
from certsvc.api.pagination import PageDep, paged_responses, paginate
from certsvc.api.v1.responses import TenantOut
from certsvc.api.v1.schemas import AdministratorBody, TenantBody

router = APIRouter(prefix="/tenants", tags=["tenants"])
CompanyPath = Annotated[str, Path(max_length=32)]


@router.post("", status_code=201, summary="Register a tenant")
def create(body: TenantBody, caller: Admin, services: ServicesDep) -> dict[str, Any]:
    directory = services.directory
    by = caller.actor(body.ticket)
    directory.add_tenant(body.company_number, body.name, body.admin_email, by, body.admin_name)
    return directory.show_tenant(body.company_number).to_dict()


@router.get(
    "",
    summary="List tenants (paged, by company number); a tenant-admin sees its own",
    response_model=list[TenantOut],
    responses=paged_responses("One page of tenants"),
)
def list_tenants(
    request: Request, response: Response, caller: Operator, services: ServicesDep, page: PageDep
) -> list[dict[str, Any]]:
    only = caller.company_number if caller.role == "tenant-admin" else None
    views, total = services.directory.list_tenants(page.limit, page.offset, only)
    return paginate(request, response, [view.to_dict() for view in views], total, page)


@router.get("/{company_number}", summary="Show a tenant", response_model=TenantOut)
def show(company_number: CompanyPath, caller: Operator, services: ServicesDep) -> dict[str, Any]:
    own_tenant(caller, company_number, "tenant", company_number)
    return services.directory.show_tenant(company_number).to_dict()


@router.post(
    "/{company_number}/administrator",
    summary="Change the representative administrator (old and new address are informed)",
)
def change_administrator(
    company_number: CompanyPath, body: AdministratorBody, caller: Admin, services: ServicesDep
) -> dict[str, Any]:
    view = services.directory.change_administrator(
        company_number, body.name, body.email, caller.actor(body.ticket)
    )
    return view.to_dict()
