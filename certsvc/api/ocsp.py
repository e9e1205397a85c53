"""``POST /ocsp`` and ``GET /ocsp/<base64>`` (RFC 6960 over HTTP, RFC 5019 caching)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response

from certsvc.api.conditional import http_date
from certsvc.api.deps import gateway_of
from certsvc.feed.ocsp import OCSPAnswer

router = APIRouter(tags=["ocsp"])
OCSP_RESPONSE = "application/ocsp-response"
MAX_REQUEST = 16 * 1024


def _response(answer: OCSPAnswer, request: Request) -> Response:
    """nginx accepts only this exact Content-Type; GET answers are cacheable to nextUpdate."""
    headers = {"Content-Type": OCSP_RESPONSE}
    if answer.this_update and answer.next_update and not answer.has_nonce:
        left = int((answer.next_update - gateway_of(request).clock.now()).total_seconds())
        headers.update(
            {
                "Cache-Control": f"max-age={max(left, 0)}, public, no-transform, must-revalidate",
                "Last-Modified": http_date(answer.this_update),
                "Expires": http_date(answer.next_update),
                "ETag": f'"{hashlib.sha1(answer.der).hexdigest()}"',
            }
        )
    else:
        headers["Cache-Control"] = "no-store"
    return Response(answer.der, headers=headers)


@router.post("/ocsp")
async def ocsp_post(request: Request) -> Response:
    body = await request.body()
    responder = gateway_of(request).ocsp
    return _response(responder.respond(body[: MAX_REQUEST + 1]), request)


@router.get("/ocsp/{encoded:path}")
def ocsp_get(encoded: str, request: Request) -> Response:
    text = unquote(encoded)
    try:
        der = base64.b64decode(
            text + "=" * (-len(text) % 4),
            altchars=b"-_" if "-" in text or "_" in text else None,
            validate=True,
        )
    except (binascii.Error, ValueError):
        der = b""
    return _response(gateway_of(request).ocsp.respond(der), request)
