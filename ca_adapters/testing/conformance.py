"""The conformance suite every CA adapter must pass: issue, fetch, revoke, chain, CRLs, OCSP.

The tests drive the adapter through the ``CAAdapter`` protocol alone, with certsvc's
parts supplied by the suite (``harness.Conformance``: an in-memory ledger, the CRLs a
gateway would get), and check the results as a gateway would, with the real
``openssl`` binary where it is installed. They need two fixtures from the host:
``conformance_setup`` (a ``ConformanceSetup``: adapter name, its ``[ca.<name>]`` table,
clock, timer) and ``conformance_faults`` (an object with the context managers of
``Faults``, or ``None`` to skip the fault tests). ``ca_adapters.testing.plugin``
provides both for any adapter installed through the ``certsvc.ca_adapters`` entry point.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca_adapters.base import CheckLine, CRLSigner, MirroredCRL, OCSPStatus
from ca_adapters.testing.harness import EMAIL, TENANT, USER, Conformance, ConformanceSetup
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CARejected, CAUnavailable, CertsvcError, NotFound, QuotaExceeded


class Faults(Protocol):
    """Switches that make the CA misbehave while the context is open."""

    def unavailable(self) -> AbstractContextManager[None]: ...

    def rejecting(self, reason: str) -> AbstractContextManager[None]: ...

    def quota_exhausted(self) -> AbstractContextManager[None]: ...


@pytest.fixture
def ca(conformance_setup: ConformanceSetup, tmp_path: Path) -> Conformance:
    """The adapter under test, built through the registry and made ready in a fresh home."""
    return Conformance(conformance_setup, tmp_path / "home")


def test_issue_maps_the_subscriber_into_a_client_certificate(ca: Conformance) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = ca.issue(key).certificate
    subject = certificate.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == TENANT
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == USER
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [EMAIL]
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert certificate.public_key() == key.public_key()
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_trust_chain_is_issuing_ca_first_and_root_last(ca: Conformance) -> None:
    ca.check_chain()
    chain = ca.adapter.trust_chain()
    assert chain[-1].subject == chain[-1].issuer
    ca.issue().certificate.verify_directly_issued_by(chain[0])


def test_fetch_returns_the_issued_certificate(ca: Conformance) -> None:
    issued = ca.issue()
    assert issued.ca_ref, "no ca_ref for the issued certificate"
    assert ca.adapter.fetch(issued.ca_ref).certificate == issued.certificate


def test_fetch_of_an_unknown_certificate_is_not_found(ca: Conformance) -> None:
    with pytest.raises(NotFound):
        ca.adapter.fetch(format_serial(secrets.randbits(100) | 1 << 99))


def test_revoke_of_an_unknown_certificate_is_not_found(ca: Conformance) -> None:
    with pytest.raises(NotFound):
        ca.adapter.revoke(
            secrets.randbits(100) | 1 << 99, RevocationReason.unspecified, ca.clock.now()
        )


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_revoke_puts_the_certificate_on_the_crl_with_its_reason(
    ca: Conformance, reason: RevocationReason, tmp_path: Path
) -> None:
    issued = ca.issue()
    ca.revoke(issued, reason)
    serial = issued.certificate.serial_number
    ca.adapter.revoke(serial, reason, ca.clock.now())  # already revoked: success
    crls = [each.crl for each in ca.current_crls()]
    entries = [entry for crl in crls for entry in crl if entry.serial_number == serial]
    assert len(entries) == 1
    try:
        found = entries[0].extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        found = x509.ReasonFlags.unspecified
    assert found == reason.flag
    if reason is RevocationReason.keyCompromise:
        assert "certificate revoked" in ca.openssl_verify(issued, tmp_path)


def test_revocation_source_gives_a_verified_crl_for_every_ca(
    ca: Conformance, tmp_path: Path
) -> None:
    issued = ca.issue()
    source = ca.adapter.revocation_source()
    assert isinstance(source, CRLSigner | MirroredCRL)
    chain = ca.adapter.trust_chain()
    files = ca.current_crls()
    assert {each.ca_name for each in files} >= {"root", "issuing"}
    for each in files:
        signer = next(c for c in chain if c.subject == each.crl.issuer)
        assert each.crl.is_signature_valid(signer.public_key())  # type: ignore[arg-type]
        assert each.crl.next_update_utc is not None
        assert each.crl.next_update_utc > ca.clock.now()
    assert ca.openssl_verify(issued, tmp_path).endswith(": OK")


@pytest.mark.parametrize("reason", [None, RevocationReason.keyCompromise])
def test_sign_ocsp_answers_with_the_status_it_is_given(
    ca: Conformance, reason: RevocationReason | None
) -> None:
    source = ca.adapter.revocation_source()
    if not isinstance(source, CRLSigner):
        pytest.skip("the adapter's CA signs its own revocation information")
    chain = ca.adapter.trust_chain()
    names = {source.ca_certificate(name).subject: name for name in source.ca_names()}
    assert set(names) == {c.subject for c in chain}
    issued = ca.issue()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(issued.certificate, chain[0], hashes.SHA256())
        .add_extension(x509.OCSPNonce(b"conformance-nonce"), critical=False)
        .build()
    )
    now = ca.clock.now().replace(microsecond=0)
    status = (
        OCSPStatus(ocsp.OCSPCertStatus.GOOD)
        if reason is None
        else OCSPStatus(ocsp.OCSPCertStatus.REVOKED, now, reason)
    )
    der = source.sign_ocsp(names[chain[0].subject], request, status, now, now + timedelta(hours=1))
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.serial_number == issued.certificate.serial_number
    assert response.certificate_status is status.status
    assert response.this_update_utc == now
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == (
        b"conformance-nonce"
    )
    if reason is not None:
        assert response.revocation_reason == reason.flag
    _verify_signature(chain[0], response)


def test_find_issued_knows_no_certificate_for_an_unknown_key(ca: Conformance) -> None:
    ca.issue()
    now = ca.clock.now()
    assert ca.adapter.find_issued("00" * 32, now.replace(year=now.year - 1), now) is None


def test_check_passes_for_a_working_ca(ca: Conformance) -> None:
    ca.issue()
    lines = [
        *ca.adapter.check(),
        _probe("chain", ca.check_chain),
        _probe("crl", ca.check_crls),
    ]
    assert {"chain", "crl"} <= {line.name for line in lines}
    assert all(line.ok for line in lines), lines


def test_unreachable_ca_is_ca_unavailable(
    ca: Conformance, conformance_faults: Faults | None
) -> None:
    if conformance_faults is None:
        pytest.skip("the adapter under test has no fault switches")
    with conformance_faults.unavailable(), pytest.raises(CAUnavailable):
        ca.issue()


def test_refused_issuance_is_ca_rejected_and_leaves_nothing(
    ca: Conformance, conformance_faults: Faults | None
) -> None:
    if conformance_faults is None:
        pytest.skip("the adapter under test has no fault switches")
    with conformance_faults.rejecting("key on a blocklist"), pytest.raises(CARejected) as caught:
        ca.issue()
    assert "key on a blocklist" in str(caught.value)
    with conformance_faults.quota_exhausted(), pytest.raises(QuotaExceeded):
        ca.issue()
    assert ca.ledger.issued() == []  # nothing to record (certsvc's side: tests/integration)


def _probe(name: str, run: Callable[[], str]) -> CheckLine:
    """A check line as ``certsvc ca check`` makes it: a certsvc error is a failed line."""
    try:
        return CheckLine(name, True, run())
    except CertsvcError as exc:
        return CheckLine(name, False, str(exc))


def _verify_signature(signer: x509.Certificate, response: ocsp.OCSPResponse) -> None:
    """The response verifies with the CA's public key (raises ``InvalidSignature`` if not)."""
    key = signer.public_key()
    algorithm = response.signature_hash_algorithm
    assert algorithm is not None
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm)
