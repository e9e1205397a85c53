"""OCSP responses signed with a local CA key (RFC 6960, RFC 5019 profile).

certsvc's responder finds the status; this builds and signs the answer here, beside the
key, so the key is never handed out. ``producedAt`` is set by ``cryptography`` from the
wall clock; thisUpdate/nextUpdate come from certsvc's injected clock.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ca_adapters.base import OCSPStatus
from ca_adapters.local.keys import SigningKey
from certsvc.domain.policy import RevocationReason


def sign_ocsp_response(
    certificate: x509.Certificate,
    key: SigningKey,
    algorithm: hashes.SHA256 | hashes.SHA384,
    request: ocsp.OCSPRequest,
    status: OCSPStatus,
    window: tuple[datetime, datetime],
) -> bytes:
    """A DER response for the request's one certificate, its nonce echoed when it sent one."""
    reason = status.reason
    flag = None if reason is None or reason is RevocationReason.unspecified else reason.flag
    this_update, next_update = window
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        request.issuer_name_hash,
        request.issuer_key_hash,
        request.serial_number,
        request.hash_algorithm,
        status.status,
        this_update,
        next_update,
        status.revoked_at,
        flag,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, certificate)
    nonce = request_nonce(request)
    if nonce is not None:
        builder = builder.add_extension(nonce, critical=False)
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)


def request_nonce(request: ocsp.OCSPRequest) -> x509.OCSPNonce | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value
    except x509.ExtensionNotFound:
        return None
