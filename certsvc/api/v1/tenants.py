"""``/api/v1/tenants``: register a tenant, show it, change its representative administrator.

Creating tenants and naming their administrator is the operator's (``admin``); the
helpdesk and the tenant's own administrator may read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from certsvc.api.auth import Admin, Operator, own_tenant
from certsvc.api.deps import ServicesDep
from certsvc.api.v1.schemas import AdministratorBody, TenantBody

router = APIRouter(prefix="/tenants", tags=["tenants"])
CompanyPath = Annotated[str, Path(max_length=32)]


@router.post("", status_code=201, summary="Register a tenant")
def create(body: TenantBody, caller: Admin, services: ServicesDep) -> dict[str, Any]:
    directory = services.directory
    by = caller.actor(body.ticket)
    directory.add_tenant(body.company_number, body.name, body.admin_email, by, body.admin_name)
    return directory.show_tenant(body.company_number).to_dict()


@router.get("/{company_number}", summary="Show a tenant")
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
