"""``/api/v1/pickup``: where a subscriber collects a certificate with the mailed link.

No API token here: the link's secret, the certificate user ID, the password and the
registration-number challenge authenticate. Answers may hold a private key, so they are
never cached and an ``Idempotency-Key`` is not kept (the link itself is single use).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from certsvc.access.accounts import Login
from certsvc.api.deps import ServicesDep
from certsvc.api.v1.schemas import PickupBody, SelfResetBody
from certsvc.errors import InputError
from certsvc.lifecycle.operations import CsrKey, KeySource, ServerKey

router = APIRouter(prefix="/pickup", tags=["pickup"])
Token = Annotated[str, Path(min_length=16, max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


RESET_ACCEPTED = (
    "if the company number, user ID and e-mail address match a registered subscriber, "
    "the temporary credentials have been mailed to that address (valid 1 hour)"
)


@router.post(
    "/reset",
    status_code=202,
    summary="Self-service reset (also while locked): temporary credentials by mail",
)
def self_reset(body: SelfResetBody, services: ServicesDep) -> JSONResponse:
    """The same answer whatever happened, so addresses and user IDs cannot be probed."""
    services.accounts.self_reset(body.company_number, body.user_id, body.email, body.reset)
    return JSONResponse({"detail": RESET_ACCEPTED}, status_code=202, headers=NO_STORE)


@router.get("/{token}", summary="The pickup page: which challenge digits to give")
def show(token: Token, services: ServicesDep) -> dict[str, Any]:
    return asdict(services.pickups.show(token))


@router.post(
    "/{token}",
    summary="Log in and collect: JSON with the certificate, or a PKCS#12 file",
    responses={200: {"content": {"application/x-pkcs12": {}}}},
)
def collect(token: Token, body: PickupBody, request: Request, services: ServicesDep) -> Response:
    if body.csr is not None and body.pkcs12:
        raise InputError("give either csr or pkcs12, not both", "csr")
    key: KeySource | None = None
    if body.csr is not None:
        key = CsrKey(body.csr.encode())
    elif body.pkcs12:
        key = ServerKey(b"")  # protected by the subscriber's password once logged in
    source = request.client.host if request.client else None
    login = Login(body.user_id, body.password, body.challenge, body.new_password, source)
    collected = services.pickups.redeem(token, login, key)
    if collected.pkcs12 is not None:
        return Response(collected.pkcs12, media_type="application/x-pkcs12", headers=NO_STORE)
    answer = {
        "certificate": collected.certificate.to_dict(),
        "certificate_pem": collected.certificate_pem,
    }
    return JSONResponse(answer, headers=NO_STORE)
