"""``/api/v1/pickup``: where a subscriber collects a certificate with the mailed link.

No API token here: the link's secret, the certificate user ID, the password and the
registration-number challenge authenticate. Answers may hold a private key, so they are
never cached and an ``Idempotency-Key`` is not kept (the link itself is single use).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from certsvc.access.accounts import Login
from certsvc.api.deps import ServicesDep
from certsvc.api.v1.schemas import PickupBody, SelfResetBody
from certsvc.api.v1.subscribers import secret_answer
from certsvc.errors import InputError
from certsvc.lifecycle.operations import CsrKey, KeySource, ServerKey

router = APIRouter(prefix="/pickup", tags=["pickup"])
Token = Annotated[str, Path(min_length=16, max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "/reset",
    status_code=201,
    summary="Self-service reset with the registration number: a password valid 1 hour",
)
def self_reset(body: SelfResetBody, services: ServicesDep) -> JSONResponse:
    temporary = services.accounts.self_reset(
        body.company_number, body.user_id, body.registration_number
    )
    return secret_answer(temporary.password, temporary.expires_at.isoformat())


@router.get("/{token}", summary="The pickup page: which challenge digits to give")
def show(token: Token, services: ServicesDep) -> dict[str, Any]:
    return asdict(services.pickups.show(token))


@router.post(
    "/{token}",
    summary="Log in and collect: JSON with the certificate, or a PKCS#12 file",
    responses={200: {"content": {"application/x-pkcs12": {}}}},
)
def collect(token: Token, body: PickupBody, services: ServicesDep) -> Response:
    if body.csr is not None and body.pkcs12:
        raise InputError("give either csr or pkcs12, not both", "csr")
    key: KeySource | None = None
    if body.csr is not None:
        key = CsrKey(body.csr.encode())
    elif body.pkcs12:
        key = ServerKey(b"")  # protected by the subscriber's password once logged in
    login = Login(body.user_id, body.password, body.challenge, body.new_password)
    collected = services.pickups.redeem(token, login, key)
    if collected.pkcs12 is not None:
        return Response(collected.pkcs12, media_type="application/x-pkcs12", headers=NO_STORE)
    answer = {
        "certificate": collected.certificate.to_dict(),
        "certificate_pem": collected.certificate_pem,
    }
    return JSONResponse(answer, headers=NO_STORE)
