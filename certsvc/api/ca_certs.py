"""``/ca/<name>.cer``: the certificates of the CAs certsvc signs with (AIA caIssuers).

A client certificate's Authority Information Access names this URL, so a validator that
was given only the root can fetch the issuing CA by itself. DER, ``application/pkix-cert``
(RFC 2585); public like the CRLs.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request, Response

from ca_adapters.base import CRLSigner
from certsvc.api.deps import gateway_of
from certsvc.errors import NotFound

router = APIRouter(tags=["gateway feed"])
MAX_AGE_SECONDS = 86_400


@router.get("/ca/{name}.cer")
def ca_certificate(name: str, request: Request) -> Response:
    """A CA certificate by the name its CRL has (``/crl/<name>.crl``)."""
    source = gateway_of(request).publisher.adapter.revocation_source()
    if not isinstance(source, CRLSigner) or name not in source.ca_names():
        raise NotFound("CA certificate", name)
    der = source.ca_certificate(name).public_bytes(serialization.Encoding.DER)
    return Response(
        der,
        media_type="application/pkix-cert",
        headers={"Cache-Control": f"max-age={MAX_AGE_SECONDS}, public"},
    )
