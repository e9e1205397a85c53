"""``/api/v1/certificates``: issue, renew, reissue, revoke, show, list, pickup links.

A certificate in an answer has exactly the keys of the CLI's ``--json``. Without a CSR
an issuance can wait for the subscriber's own key at pickup: that answer is 202 with the
pickup (the link itself goes only to the subscriber's mail).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from certsvc import audit
from certsvc.access.tokens import Principal
from certsvc.api.auth import Operator, own_tenant
from certsvc.api.deps import ServicesDep
from certsvc.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paged_responses, paginate
from certsvc.api.v1.responses import CertificateOut, IssuedOut
from certsvc.api.v1.schemas import IssueBody, ReissueBody, RenewBody, RevokeBody, TicketBody
from certsvc.audit import Actor, AuditFilter
from certsvc.domain.certificates import CertState
from certsvc.domain.policy import RevocationReason
from certsvc.errors import InputError
from certsvc.feed.chain import chain_pem
from certsvc.lifecycle.operations import CsrKey, Handover, Lifecycle, count_views, list_views
from certsvc.lifecycle.orders import Issued
from certsvc.lifecycle.pickup import Deferred, Pickups, PickupTicket
from certsvc.lifecycle.views import CertificateView
from certsvc.storage.queries import CertificateFilter

router = APIRouter(prefix="/certificates", tags=["certificates"])


def _owned(lifecycle: Lifecycle, caller: Principal, serial: str) -> CertificateView:
    """The certificate if the caller may see it; another tenant's is 'unknown' (404)."""
    view = lifecycle.show(serial)
    own_tenant(caller, view.company_number, "certificate", view.serial or serial)
    return view


def _owner(view: CertificateView) -> tuple[str, str]:
    return view.company_number, view.user_id


def _csr(cap: int, csr: str | None) -> CsrKey | None:
    if csr is None:
        return None
    if len(csr.encode()) > cap:
        raise InputError(f"CSR too large (at most {cap} bytes)", "csr")
    return CsrKey(csr.encode())


def _pickup(ticket: PickupTicket) -> dict[str, Any]:
    expires_at = ticket.expires_at.isoformat()
    return {"pickup": {"id": ticket.id, "action": ticket.action, "expires_at": expires_at}}


def _defer(
    pickups: Pickups,
    pickup: bool,
    subscriber: tuple[str, str],
    deferred: Deferred,
    by: Actor,
    view: CertificateView | None = None,
) -> JSONResponse:
    """No CSR: the issuance waits for the subscriber's key at pickup (202), if asked for."""
    if not pickup:
        raise InputError("give csr, or pickup: true to let the subscriber bring a key", "csr")
    body = _pickup(pickups.defer(*subscriber, deferred, by))
    if view is not None:
        body["certificate"] = view.to_dict()
    return JSONResponse(body, status_code=202)


def _issued(services: ServicesDep, issued: Issued) -> dict[str, Any]:
    """The certificate's keys unchanged, plus its PEM and the chain above it (issuing CA
    first, root last), so the caller can install or check it without another request."""
    return {
        **issued.certificate.to_dict(),
        "certificate_pem": issued.certificate_pem,
        "chain_pem": chain_pem(services.adapter, issued.certificate_pem),
    }


def _handover(pickup: bool) -> Handover:
    """Over HTTP a certificate that waits for pickup gets its link, in the same transaction."""
    return Handover(awaiting_pickup=pickup, mail_link=True)


@router.post("", status_code=201, summary="Issue a certificate", response_model=IssuedOut)
def issue(body: IssueBody, caller: Operator, services: ServicesDep) -> Any:
    subscriber = f"{body.company_number}/{body.user_id}"
    own_tenant(caller, body.company_number, "subscriber", subscriber)
    by = caller.actor(body.ticket)
    key = _csr(services.settings.limits.max_csr_bytes, body.csr)
    if key is None:
        owner = (body.company_number, body.user_id)
        return _defer(services.pickups, body.pickup, owner, Deferred("issue"), by)
    handover = _handover(body.pickup)
    issued = services.lifecycle.issue(body.company_number, body.user_id, key, by, handover)
    return _issued(services, issued)


class CertificateQuery(BaseModel):
    """The filters and page of ``GET /api/v1/certificates``."""

    company_number: str | None = Field(default=None, max_length=32)
    state: CertState | None = None
    expiring_before: date | None = None
    q: str | None = Field(default=None, max_length=100, description="Text search")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@router.get(
    "",
    summary="List certificates (paged, oldest first)",
    response_model=list[CertificateOut],
    responses=paged_responses("One page of certificates"),
)
def list_certificates(
    request: Request,
    response: Response,
    caller: Operator,
    services: ServicesDep,
    query: Annotated[CertificateQuery, Query()],
) -> list[dict[str, Any]]:
    company_number, page = query.company_number, Page(query.limit, query.offset)
    if company_number is not None:
        own_tenant(caller, company_number, "tenant", company_number)
    if caller.role == "tenant-admin":
        company_number = caller.company_number
    found = (query.state, query.expiring_before, query.q)
    wanted = CertificateFilter(company_number, *found, page.limit, page.offset)
    views = [view.to_dict() for view in list_views(services.lifecycle, wanted)]
    return paginate(request, response, views, count_views(services.lifecycle, wanted), page)


@router.get("/{serial}", summary="Show a certificate")
def show(serial: str, caller: Operator, services: ServicesDep) -> dict[str, Any]:
    return _owned(services.lifecycle, caller, serial).to_dict()


@router.get("/{serial}/history", summary="A certificate with its predecessors and events")
def history(serial: str, caller: Operator, services: ServicesDep) -> dict[str, Any]:
    view = _owned(services.lifecycle, caller, serial)
    chain = [view]
    while chain[0].replaces and len(chain) < 100:
        chain.insert(0, services.lifecycle.show(chain[0].replaces))
    while chain[-1].superseded_by and len(chain) < 200:
        chain.append(services.lifecycle.show(chain[-1].superseded_by))
    serials = tuple(item.serial for item in chain if item.serial)
    with services.sessions() as session:
        events = audit.query(session, AuditFilter(serials=serials, limit=10_000))
    return {
        "certificate": view.to_dict(),
        "chain": [item.to_dict() for item in chain],
        "events": events,
    }


@router.post(
    "/{serial}/renew", status_code=201, summary="Renew a certificate", response_model=IssuedOut
)
def renew(serial: str, body: RenewBody, caller: Operator, services: ServicesDep) -> Any:
    view = _owned(services.lifecycle, caller, serial)
    by = caller.actor(body.ticket)
    key = _csr(services.settings.limits.max_csr_bytes, body.csr)
    if key is None:
        deferred = Deferred("renew", view.serial, revoke_old=body.revoke_old)
        return _defer(services.pickups, body.pickup, _owner(view), deferred, by, view)
    issued = services.lifecycle.renew(
        serial, key, by, revoke_old=body.revoke_old, handover=_handover(body.pickup)
    )
    return _issued(services, issued)


@router.post(
    "/{serial}/reissue",
    status_code=201,
    summary="Reissue after a PC or user change",
    response_model=IssuedOut,
)
def reissue(serial: str, body: ReissueBody, caller: Operator, services: ServicesDep) -> Any:
    view = _owned(services.lifecycle, caller, serial)
    by = caller.actor(body.ticket)
    key = _csr(services.settings.limits.max_csr_bytes, body.csr)
    if key is None:
        deferred = Deferred(
            "reissue", view.serial, body.reason, body.revoke_old, body.new_email, body.new_name
        )
        return _defer(services.pickups, body.pickup, _owner(view), deferred, by, view)
    issued = services.lifecycle.reissue(
        serial,
        body.reason,
        key,
        by,
        revoke_old=body.revoke_old,
        new_email=body.new_email,
        new_name=body.new_name,
        handover=_handover(body.pickup),
    )
    return _issued(services, issued)


@router.post("/{serial}/revoke", summary="Revoke a certificate (final)")
def revoke(serial: str, body: RevokeBody, caller: Operator, services: ServicesDep) -> Any:
    _owned(services.lifecycle, caller, serial)
    reason = RevocationReason(body.reason)
    return services.lifecycle.revoke(serial, reason, caller.actor(body.ticket)).to_dict()


@router.post("/{serial}/pickup", status_code=201, summary="Mail a (new) pickup link")
def pickup_link(serial: str, body: TicketBody, caller: Operator, services: ServicesDep) -> Any:
    view = _owned(services.lifecycle, caller, serial)
    return _pickup(services.pickups.for_certificate(view.serial or "", caller.actor(body.ticket)))
