"""A CA that refuses an issuance leaves nothing in certsvc's database (through Lifecycle)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from certsvc.app import Services
from certsvc.errors import CARejected, QuotaExceeded
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import Certificate
from tests.conftest import COMPANY, OPERATOR, USER
from tests.fakes.globalsign import FakeGlobalSign


def _csr() -> CsrKey:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "browser")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return CsrKey(csr.public_bytes(serialization.Encoding.PEM))


def test_refused_issuance_is_ca_rejected_and_leaves_nothing(
    gs_services: Services, hvca: FakeGlobalSign
) -> None:
    with hvca.rejecting("key on a blocklist"), pytest.raises(CARejected) as caught:
        gs_services.lifecycle.issue(COMPANY, USER, _csr(), OPERATOR)
    assert "key on a blocklist" in str(caught.value)
    with hvca.quota_exhausted(), pytest.raises(QuotaExceeded):
        gs_services.lifecycle.issue(COMPANY, USER, _csr(), OPERATOR)
    with gs_services.sessions() as session:
        assert session.scalars(select(Certificate)).all() == []
