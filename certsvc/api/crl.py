"""``/crl/<ca>.crl`` (DER), ``/crl/<ca>.pem`` and ``/crl/bundle.pem`` with conditional GETs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from certsvc.api.conditional import cached_response
from certsvc.api.deps import gateway_of
from certsvc.errors import NotFound

router = APIRouter(tags=["gateway feed"])
MEDIA_TYPES = {".crl": "application/pkix-crl", ".pem": "application/x-pem-file"}


@router.head("/crl/{name}", include_in_schema=False)  # one operation id in /openapi.json
@router.get("/crl/{name}")
def crl(name: str, request: Request) -> Response:
    """A CRL as stored; cacheable until shortly before its nextUpdate, never past it."""
    gateway = gateway_of(request)
    document = gateway.crls.current().documents.get(name)
    if document is None:
        raise NotFound("CRL", name)
    left = (document.next_update - gateway.clock.now()).total_seconds()
    max_age = min(gateway.settings.gateway.crl_max_age_seconds, int(left) - 1)
    if gateway.crls.stale() or max_age <= 0:
        cache_control = "no-cache"
    else:
        cache_control = f"max-age={max_age}, public, no-transform"
    return cached_response(
        request,
        document.body,
        MEDIA_TYPES[name[name.rindex(".") :]],
        etag=document.etag,
        last_modified=document.last_modified,
        headers={"Cache-Control": cache_control},
    )
