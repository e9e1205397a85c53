"""Issuing-CA rollover behind a real HAProxy: both issuing CAs admitted, revocations of each
refused by their own CA's CRL.

HAProxy starts on the chain and CRL bundle an operator takes after ``certsvc ca rollover``
(issuing CA 2, issuing CA 1, root) with an allowlist ACL written *before* the
revocations, so the 403 for the revoked certificates can only come from the CRLs of
the old and the new issuing CA (``ssl_c_verify`` 23). The agent's next run then drops them
from the ACL as well.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from ca_adapters.base import IssuingRollover
from certsvc.domain.fingerprints import sha256_hex
from tests.e2e.conftest import Stack, issue_client, needs_curl, needs_haproxy
from tests.e2e.test_haproxy import running_haproxy

pytestmark = [pytest.mark.e2e, needs_haproxy, needs_curl]


def _issuer(stack: Stack, user_id: str) -> str:
    certificate = x509.load_pem_x509_certificate(stack.clients[user_id].cert.read_bytes())
    return certificate.issuer.rfc4514_string().split(",")[0]


def test_haproxy_admits_both_issuing_cas_and_refuses_a_revoked_one_of_each(stack: Stack):
    adapter = stack.services.adapter
    assert isinstance(adapter, IssuingRollover)
    assert "new issuing CA issuing-2" in adapter.rollover()[0]
    for user_id in ("erin", "frank"):
        stack.clients[user_id] = issue_client(stack.services, user_id, stack.directory)
    assert _issuer(stack, "alice") == _issuer(stack, "bob") == "CN=certsvc Issuing CA 1"
    assert _issuer(stack, "erin") == _issuer(stack, "frank") == "CN=certsvc Issuing CA 2"
    users = ("alice", "bob", "erin", "frank")
    fingerprints = {
        user: sha256_hex(x509.load_pem_x509_certificate(stack.clients[user].cert.read_bytes()))
        for user in users
    }
    acl = "".join(f"{fingerprint}\n" for fingerprint in fingerprints.values())
    stack.revoke(stack.clients["bob"])  # issued by the old CA
    stack.revoke(stack.clients["frank"])  # issued by the new CA
    with running_haproxy(stack, "haproxy-rollover", acl) as gateway:
        chain = x509.load_pem_x509_certificates(gateway.files.chain.read_bytes())
        assert [c.subject.rfc4514_string().split(",")[0] for c in chain] == [
            "CN=certsvc Issuing CA 2",
            "CN=certsvc Issuing CA 1",
            "CN=certsvc Root CA",
        ]
        bundle = gateway.files.crl_bundle.read_bytes()
        assert bundle.count(b"-----BEGIN X509 CRL-----") == 3  # the root's, each issuing CA's
        statuses = {user: gateway.status(stack.clients[user]) for user in users}
        assert statuses == {"alice": 200, "bob": 403, "erin": 200, "frank": 403}
        outcome = gateway.agent.run_once()
        assert outcome.ok, outcome
        statuses = {user: gateway.status(stack.clients[user]) for user in users}
        assert statuses == {"alice": 200, "bob": 403, "erin": 200, "frank": 403}
        committed = set(gateway.files.haproxy_acl.read_text().split())
        assert fingerprints["alice"] in committed
        assert fingerprints["erin"] in committed
        assert fingerprints["bob"] not in committed
        assert fingerprints["frank"] not in committed
