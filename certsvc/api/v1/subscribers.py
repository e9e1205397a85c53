"""``/api/v1/tenants/{company}/subscribers``: register, list, show, change e-mail, mark
"no certificate", and manage the subscriber's pickup credentials.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from certsvc.access.tokens import Principal
from certsvc.api.auth import Operator, own_tenant
from certsvc.api.deps import ServicesDep
from certsvc.api.pagination import PageDep, paged_responses, paginate
from certsvc.api.v1.responses import SubscriberOut
from certsvc.api.v1.schemas import (
    CredentialsBody,
    CredentialsResetBody,
    EmailBody,
    SubscriberBody,
    TicketBody,
)
from certsvc.directory import NewSubscriber

router = APIRouter(prefix="/tenants/{company_number}/subscribers", tags=["subscribers"])
CompanyPath = Annotated[str, Path(max_length=32)]
UserPath = Annotated[str, Path(max_length=64)]


def _mine(caller: Principal, company_number: str) -> None:
    own_tenant(caller, company_number, "tenant", company_number)


@router.post("", status_code=201, summary="Register a subscriber")
def create(
    company_number: CompanyPath, body: SubscriberBody, caller: Operator, services: ServicesDep
) -> dict[str, Any]:
    _mine(caller, company_number)
    new = NewSubscriber(
        company_number,
        body.user_id,
        body.email,
        body.display_name,
        body.needs_certificate,
        body.role,
        body.locale,
    )
    services.directory.add_subscriber(new, caller.actor(body.ticket))
    return services.directory.show_subscriber(company_number, body.user_id).to_dict()


@router.get(
    "",
    summary="List the subscribers of a tenant (paged, in registration order)",
    response_model=list[SubscriberOut],
    responses=paged_responses("One page of subscribers"),
)
def list_subscribers(
    request: Request,
    response: Response,
    company_number: CompanyPath,
    caller: Operator,
    services: ServicesDep,
    page: PageDep,
) -> list[dict[str, Any]]:
    _mine(caller, company_number)
    directory = services.directory
    views = directory.list_subscribers(company_number, page.limit, page.offset)
    total = directory.count_subscribers(company_number)
    return paginate(request, response, [view.to_dict() for view in views], total, page)


@router.get("/{user_id}", summary="Show a subscriber")
def show(
    company_number: CompanyPath, user_id: UserPath, caller: Operator, services: ServicesDep
) -> dict[str, Any]:
    _mine(caller, company_number)
    return services.directory.show_subscriber(company_number, user_id).to_dict()


@router.post("/{user_id}/email", summary="Change a subscriber's e-mail address")
def change_email(
    company_number: CompanyPath,
    user_id: UserPath,
    body: EmailBody,
    caller: Operator,
    services: ServicesDep,
) -> dict[str, Any]:
    _mine(caller, company_number)
    by = caller.actor(body.ticket)
    return services.directory.change_email(company_number, user_id, body.email, by).to_dict()


@router.post("/{user_id}/no-certificate", summary="Mark that the subscriber needs no certificate")
def no_certificate(
    company_number: CompanyPath,
    user_id: UserPath,
    body: TicketBody,
    caller: Operator,
    services: ServicesDep,
) -> dict[str, Any]:
    _mine(caller, company_number)
    by = caller.actor(body.ticket)
    return services.directory.mark_no_certificate(company_number, user_id, by).to_dict()


@router.post("/{user_id}/credentials", summary="Register the registration letter's credentials")
def set_credentials(
    company_number: CompanyPath,
    user_id: UserPath,
    body: CredentialsBody,
    caller: Operator,
    services: ServicesDep,
) -> dict[str, Any]:
    _mine(caller, company_number)
    services.accounts.set(
        company_number,
        user_id,
        body.password,
        body.registration_number,
        caller.actor(body.ticket),
    )
    return services.directory.show_subscriber(company_number, user_id).to_dict()


@router.post(
    "/{user_id}/credentials/reset",
    status_code=201,
    summary="Reset credentials: temporary ones valid 24 hours, mailed; lifts a lock",
)
def reset_credentials(
    company_number: CompanyPath,
    user_id: UserPath,
    caller: Operator,
    services: ServicesDep,
    body: CredentialsResetBody | None = None,
) -> dict[str, Any]:
    """What was reset and where it was mailed; the temporary values are only in the mail."""
    _mine(caller, company_number)
    body = body or CredentialsResetBody(ticket=None)
    done = services.accounts.reset(
        company_number,
        user_id,
        caller.actor(body.ticket),
        helpdesk=caller.role == "helpdesk",
        what=body.reset,
    )
    return {
        "reset": done.reset.value,
        "expires_at": done.expires_at.isoformat(),
        "mailed_to": done.mailed_to,
    }
