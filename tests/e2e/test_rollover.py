"""Issuing-CA rollover behind a real nginx: both issuing CAs admitted, revocations of each refused.

``certsvc ca rollover`` makes issuing CA 2 under the same root. Certificates issued
before it keep working (the old CA keeps signing its CRL while they live), new ones come
from the new CA, and the gateway's chain and CRL bundle carry both CAs meanwhile.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from ca_adapters.base import IssuingRollover
from certsvc.feed.crl import gateway_chain
from tests.e2e.conftest import Stack, issue_client, needs_curl, needs_nginx, nginx_gateway

pytestmark = [pytest.mark.e2e, needs_nginx, needs_curl]


def issuer_cn(stack: Stack, user_id: str) -> str:
    certificate = x509.load_pem_x509_certificate(stack.clients[user_id].cert.read_bytes())
    return certificate.issuer.rfc4514_string()


def test_rollover_keeps_both_issuing_cas_in_the_gateway_until_the_old_ones_expire(stack: Stack):
    adapter = stack.services.adapter
    assert isinstance(adapter, IssuingRollover)
    notes = adapter.rollover()
    assert "new issuing CA issuing-2" in notes[0]
    for user_id in ("erin", "frank"):
        stack.clients[user_id] = issue_client(stack.services, user_id, stack.directory)
    assert "CN=certsvc Issuing CA 1" in issuer_cn(stack, "bob")
    assert "CN=certsvc Issuing CA 2" in issuer_cn(stack, "erin")
    subjects = [ca.subject.rfc4514_string() for ca in gateway_chain(adapter)]
    assert [s.split(",")[0] for s in subjects] == [
        "CN=certsvc Issuing CA 2",
        "CN=certsvc Issuing CA 1",
        "CN=certsvc Root CA",
    ]
    stack.revoke(stack.clients["bob"])  # issued by the old CA
    stack.revoke(stack.clients["frank"])  # issued by the new CA
    with nginx_gateway(stack, "rollover", "--allowlist", "map") as gateway:
        assert gateway.status(stack.clients["alice"]) == 200  # old CA, valid
        assert gateway.status(stack.clients["erin"]) == 200  # new CA, valid
        assert gateway.status(stack.clients["bob"]) == 400  # old CA, revoked
        assert gateway.status(stack.clients["frank"]) == 400  # new CA, revoked
        assert gateway.error_log().count("certificate revoked") >= 2  # by the CRLs, not the map
    bundle = {crl.ca_name for crl in stack.services.crls.current()}
    assert bundle == {"root", "issuing", "issuing-2"}
