"""The OCSP responder over HTTP: statuses, nonce, GET caching headers, bad requests."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import OPERATOR
from tests.keys import make_csr


@pytest.fixture
def leaf(services, subscriber):
    pem = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR).certificate_pem
    return x509.load_pem_x509_certificate(pem.encode())


@pytest.fixture
def issuing(services):
    return services.adapter.trust_chain()[0]


def ocsp_request(certificate, issuer, nonce: bytes | None = None, algorithm=None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate, issuer, algorithm or hashes.SHA1()
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def post(client, der: bytes):
    answer = client.post("/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(answer.content), answer


def test_good_then_revoked_with_time_and_reason(client, services, leaf, issuing, clock):
    response, _ = post(client, ocsp_request(leaf, issuing))
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == leaf.serial_number
    issuing.public_key().verify(response.signature, response.tbs_response_bytes, _ecdsa(response))
    services.lifecycle.revoke(f"{leaf.serial_number:X}", RevocationReason.keyCompromise, OPERATOR)
    response, _ = post(client, ocsp_request(leaf, issuing, algorithm=hashes.SHA256()))
    assert response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason == x509.ReasonFlags.key_compromise
    assert response.revocation_time_utc == clock.now().replace(microsecond=0)


def _ecdsa(response):
    return ec.ECDSA(response.signature_hash_algorithm)


def test_unknown_serial_and_nonce_echo(client, leaf, issuing):
    name_hash, key_hash = _issuer_hashes(leaf, issuing)
    stranger = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash, key_hash, 12345, hashes.SHA1()
    )
    der = stranger.build().public_bytes(serialization.Encoding.DER)
    response, _ = post(client, der)
    assert response.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    nonce = os.urandom(16)
    response, answer = post(client, ocsp_request(leaf, issuing, nonce))
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    assert answer.headers["cache-control"] == "no-store"


def _issuer_hashes(leaf, issuing) -> tuple[bytes, bytes]:
    request = ocsp.load_der_ocsp_request(ocsp_request(leaf, issuing))
    return request.issuer_name_hash, request.issuer_key_hash


def test_root_answers_for_the_issuing_ca(client, services, issuing):
    root = services.adapter.trust_chain()[1]
    response, _ = post(client, ocsp_request(issuing, root))
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_get_is_cacheable_until_next_update(client, services, leaf, issuing, clock):
    encoded = quote(base64.b64encode(ocsp_request(leaf, issuing)).decode(), safe="")
    answer = client.get(f"/ocsp/{encoded}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/ocsp-response"
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    validity = timedelta(minutes=services.settings.gateway.ocsp_validity_minutes)
    assert response.next_update_utc is not None
    assert response.next_update_utc - response.this_update_utc == validity
    assert answer.headers["cache-control"] == (
        f"max-age={int(validity.total_seconds())}, public, no-transform, must-revalidate"
    )
    assert answer.headers["etag"].startswith('"')
    assert parsedate_to_datetime(answer.headers["last-modified"]) == response.this_update_utc
    assert parsedate_to_datetime(answer.headers["expires"]) == response.next_update_utc


@pytest.mark.parametrize(
    "path", ["/ocsp/!!!notbase64", "/ocsp/" + base64.b64encode(b"\x30\x03\x02\x01\x01").decode()]
)
def test_malformed_requests_get_an_ocsp_error(client, path):
    answer = client.get(path)
    assert answer.headers["content-type"] == "application/ocsp-response"
    status = ocsp.load_der_ocsp_response(answer.content).response_status
    assert status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_a_foreign_issuer_is_unauthorized(client, leaf):
    response, _ = post(client, ocsp_request(leaf, leaf))
    assert response.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
