"""The conformance suite every CA adapter must pass: issue, fetch, revoke, chain, CRLs, errors.

The tests drive the adapter the way certsvc does (through ``Lifecycle`` and the CRL
publisher) and check the results as a gateway would, with the real ``openssl`` binary
where it is installed. They need a fixture ``conformance_services`` (initialised
``Services`` for the adapter) and ``conformance_faults`` (an object with the context
managers of ``Faults``, or ``None`` to skip the fault tests). certsvc's own suite
provides both for every shipped adapter; ``ca_adapters.testing.plugin`` provides them
for any adapter installed through the ``certsvc.ca_adapters`` entry point.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from ca_adapters.base import CRLSigner, MirroredCRL
from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.directory import NewSubscriber
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CARejected, CAUnavailable, NotFound, QuotaExceeded
from certsvc.feed.ca_check import check_ca, check_chain
from certsvc.lifecycle.operations import CsrKey, Issued
from certsvc.storage.models import Certificate

COMPANY, USER, TENANT, EMAIL = "9001", "conformance", "Conformance KK", "conf@example.jp"
ACTOR = Actor("test:conformance", "CONFORMANCE")


class Faults(Protocol):
    """Switches that make the CA misbehave while the context is open."""

    def unavailable(self) -> AbstractContextManager[None]: ...

    def rejecting(self, reason: str) -> AbstractContextManager[None]: ...

    def quota_exhausted(self) -> AbstractContextManager[None]: ...


def _enrol(ca_services: Services) -> None:
    ca_services.directory.add_tenant(COMPANY, TENANT, "admin@example.jp", ACTOR)
    ca_services.directory.add_subscriber(NewSubscriber(COMPANY, USER, EMAIL, "Conformance"), ACTOR)


def _issue(ca_services: Services, key: ec.EllipticCurvePrivateKey | None = None) -> Issued:
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "browser")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return ca_services.lifecycle.issue(
        COMPANY, USER, CsrKey(csr.public_bytes(serialization.Encoding.PEM)), ACTOR
    )


def _certificate(issued: Issued) -> x509.Certificate:
    return x509.load_pem_x509_certificate(issued.certificate_pem.encode())


def _ca_ref(ca_services: Services, serial: str | None) -> str:
    with ca_services.sessions() as session:
        ref = session.scalar(select(Certificate.ca_ref).where(Certificate.serial == serial))
    assert ref, f"no ca_ref stored for {serial}"
    return ref


@pytest.fixture
def ca_services(conformance_services: Services) -> Services:
    _enrol(conformance_services)
    return conformance_services


def test_issue_maps_the_subscriber_into_a_client_certificate(ca_services: Services) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(_issue(ca_services, key))
    subject = certificate.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == TENANT
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == USER
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [EMAIL]
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert certificate.public_key() == key.public_key()
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_trust_chain_is_issuing_ca_first_and_root_last(ca_services: Services) -> None:
    chain = ca_services.adapter.trust_chain()
    check_chain(chain, ca_services.clock.now())
    assert chain[-1].subject == chain[-1].issuer
    issued = _certificate(_issue(ca_services))
    issued.verify_directly_issued_by(chain[0])


def test_fetch_returns_the_issued_certificate(ca_services: Services) -> None:
    issued = _issue(ca_services)
    fetched = ca_services.adapter.fetch(_ca_ref(ca_services, issued.certificate.serial))
    assert fetched.certificate == _certificate(issued)


def test_fetch_of_an_unknown_certificate_is_not_found(ca_services: Services) -> None:
    with pytest.raises(NotFound):
        ca_services.adapter.fetch(format_serial(secrets.randbits(100) | 1 << 99))


def test_revoke_of_an_unknown_certificate_is_not_found(ca_services: Services) -> None:
    with pytest.raises(NotFound):
        ca_services.adapter.revoke(
            secrets.randbits(100) | 1 << 99, RevocationReason.unspecified, ca_services.clock.now()
        )


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_revoke_puts_the_certificate_on_the_crl_with_its_reason(
    ca_services: Services, reason: RevocationReason, tmp_path: Path
) -> None:
    issued = _issue(ca_services)
    ca_services.lifecycle.revoke(issued.certificate.serial or "", reason, ACTOR)
    serial = _certificate(issued).serial_number
    ca_services.adapter.revoke(serial, reason, ca_services.clock.now())  # already revoked: success
    crls = [x509.load_der_x509_crl(crl_file.der) for crl_file in ca_services.crls.current()]
    entries = [entry for crl in crls for entry in crl if entry.serial_number == serial]
    assert len(entries) == 1
    try:
        found = entries[0].extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        found = x509.ReasonFlags.unspecified
    assert found == reason.flag
    if reason is RevocationReason.keyCompromise:
        assert "certificate revoked" in _openssl_verify(ca_services, issued, tmp_path)


def test_revocation_source_gives_a_verified_crl_for_every_ca(
    ca_services: Services, tmp_path: Path
) -> None:
    issued = _issue(ca_services)
    source = ca_services.adapter.revocation_source()
    assert isinstance(source, CRLSigner | MirroredCRL)
    chain = ca_services.adapter.trust_chain()
    files = ca_services.crls.current()
    assert {crl_file.ca_name for crl_file in files} >= {"root", "issuing"}
    for crl_file in files:
        crl = x509.load_der_x509_crl(crl_file.der)
        signer = next(c for c in chain if c.subject == crl.issuer)
        assert crl.is_signature_valid(signer.public_key())  # type: ignore[arg-type]
        assert crl_file.next_update > ca_services.clock.now()
    assert _openssl_verify(ca_services, issued, tmp_path).endswith(": OK")


def test_find_issued_knows_no_certificate_for_an_unknown_key(ca_services: Services) -> None:
    _issue(ca_services)
    now = ca_services.clock.now()
    assert ca_services.adapter.find_issued("00" * 32, now.replace(year=now.year - 1), now) is None


def test_check_passes_for_a_working_ca(ca_services: Services) -> None:
    _issue(ca_services)
    lines = check_ca(ca_services.adapter, ca_services.crls, ca_services.clock)
    assert {"chain", "crl"} <= {line.name for line in lines}
    assert all(line.ok for line in lines), lines


def test_unreachable_ca_is_ca_unavailable(
    ca_services: Services, conformance_faults: Faults
) -> None:
    if conformance_faults is None:
        pytest.skip("the adapter under test has no fault switches")
    with conformance_faults.unavailable(), pytest.raises(CAUnavailable):
        _issue(ca_services)


def test_refused_issuance_is_ca_rejected_and_leaves_nothing(
    ca_services: Services, conformance_faults: Faults
) -> None:
    if conformance_faults is None:
        pytest.skip("the adapter under test has no fault switches")
    with conformance_faults.rejecting("key on a blocklist"), pytest.raises(CARejected) as caught:
        _issue(ca_services)
    assert "key on a blocklist" in str(caught.value)
    with conformance_faults.quota_exhausted(), pytest.raises(QuotaExceeded):
        _issue(ca_services)
    with ca_services.sessions() as session:
        assert session.scalars(select(Certificate)).all() == []


def _openssl_verify(ca_services: Services, issued: Issued, tmp_path: Path) -> str:
    """``openssl verify -crl_check_all`` at the services' clock, as a gateway checks."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    chain = ca_services.adapter.trust_chain()
    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(chain[-1].public_bytes(pem))
    (tmp_path / "untrusted.pem").write_bytes(b"".join(c.public_bytes(pem) for c in chain[:-1]))
    (tmp_path / "leaf.pem").write_text(issued.certificate_pem)
    crls = b"".join(crl_file.pem for crl_file in ca_services.crls.current())
    (tmp_path / "crls.pem").write_bytes(crls)
    result = subprocess.run(
        [
            "openssl", "verify", "-crl_check_all",
            "-attime", str(int(ca_services.clock.now().timestamp())),
            "-CAfile", str(tmp_path / "root.pem"),
            "-untrusted", str(tmp_path / "untrusted.pem"),
            "-CRLfile", str(tmp_path / "crls.pem"),
            str(tmp_path / "leaf.pem"),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return (result.stdout + result.stderr).strip()
