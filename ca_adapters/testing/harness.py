"""What the conformance suite does in certsvc's place: build, issue, record, publish CRLs.

An adapter is tested through the protocol alone. ``Conformance`` builds it through the
registry (so its options model and entry point are exercised too), gives it an in-memory
ledger, records what it issues and revokes as certsvc would, and collects the CRLs a
gateway would get: signed through the adapter for a ``CRLSigner``, downloaded from the
CA for a ``MirroredCRL``.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca_adapters.base import (
    AdapterContext,
    CAAdapter,
    CertificateURLs,
    CRLSigner,
    IssuedCertificate,
    IssueRequest,
    SubjectInfo,
)
from ca_adapters.registry import load_adapter
from ca_adapters.testing.memory_ledger import MemoryLedger
from certsvc.clock import Clock, SystemClock, SystemTimer, Timer
from certsvc.domain.chain import check_chain
from certsvc.domain.policy import RevocationReason, validity_for
from certsvc.errors import CAError

TENANT, USER, EMAIL = "Conformance KK", "conformance", "conf@example.jp"
CRL_BACKDATE = timedelta(minutes=5)
CRL_VALIDITY = timedelta(days=7)
SUITE_URLS = CertificateURLs("http://127.0.0.1:8080/crl/issuing.crl")
SUITE_ZONE = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True)
class ConformanceSetup:
    """What the host gives the suite: the adapter's name and ``[ca.<name>]`` table, time."""

    adapter: str
    options: Mapping[str, object] = field(default_factory=dict)
    clock: Clock = field(default_factory=SystemClock)
    timer: Timer = field(default_factory=SystemTimer)
    urls: CertificateURLs = SUITE_URLS
    zone: ZoneInfo = SUITE_ZONE


@dataclass(frozen=True)
class CRL:
    """One CRL as a gateway gets it, named by its signer's place in the chain."""

    ca_name: str
    crl: x509.CertificateRevocationList

    @property
    def pem(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.PEM)


class Conformance:
    """One adapter under test, built fresh in ``home`` with an empty ledger."""

    def __init__(self, setup: ConformanceSetup, home: Path) -> None:
        self.setup = setup
        self.clock = setup.clock
        self.ledger = MemoryLedger()
        context = AdapterContext[Mapping[str, object]](
            setup.options, setup.clock, self.ledger, home, setup.zone, setup.urls, setup.timer
        )
        self.adapter: CAAdapter = load_adapter(setup.adapter, context)
        self.adapter.ensure_ready()
        self._crl_number = 0

    def request(self, key: ec.EllipticCurvePrivateKey) -> IssueRequest:
        """A request as certsvc makes it for a subscriber's CSR (two years, backdated)."""
        now = self.clock.now()
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "browser")])
        csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
        validity = validity_for(now, 2, self.setup.zone, CRL_BACKDATE)
        return IssueRequest(
            str(uuid.uuid4()),
            SubjectInfo(TENANT, USER, EMAIL),
            key.public_key(),
            csr.public_bytes(serialization.Encoding.PEM),
            validity.not_before,
            validity.not_after,
            requested_at=now,
        )

    def issue(self, key: ec.EllipticCurvePrivateKey | None = None) -> IssuedCertificate:
        """Issue through the adapter and record the result, as certsvc commits it."""
        issued = self.adapter.issue(self.request(key or ec.generate_private_key(ec.SECP256R1())))
        self.ledger.record_issued(self.adapter.name, issued)
        return issued

    def revoke(self, issued: IssuedCertificate, reason: RevocationReason) -> None:
        now = self.clock.now()
        self.adapter.revoke(issued.certificate.serial_number, reason, now)
        self.ledger.record_revoked(issued, now, reason)

    def current_crls(self) -> list[CRL]:
        """A full CRL for every CA: signed by the adapter, or downloaded from the CA."""
        source = self.adapter.revocation_source()
        if isinstance(source, CRLSigner):
            return [self._signed(source, name) for name in source.ca_names()]
        chain = self.adapter.trust_chain()
        crls = []
        for url in source.urls:
            crl = _download(url)
            index = next(i for i, c in enumerate(chain) if c.subject == crl.issuer)
            crls.append(CRL("root" if index == len(chain) - 1 else "issuing", crl))
        return crls

    def _signed(self, signer: CRLSigner, ca_name: str) -> CRL:
        self._crl_number += 1
        this_update = self.clock.now().replace(microsecond=0) - CRL_BACKDATE
        der = signer.sign_crl(
            ca_name,
            self.ledger.revoked(ca_name),
            self._crl_number,
            this_update,
            this_update + CRL_VALIDITY,
        )
        return CRL(ca_name, x509.load_der_x509_crl(der))

    def check_crls(self) -> str:
        """Every CRL signed by a CA of the chain and fresh now (``certsvc ca check``'s rule)."""
        chain, now = self.adapter.trust_chain(), self.clock.now()
        crls = self.current_crls()
        if not crls:
            raise CAError("no CRL")
        for each in crls:
            signer = next((c for c in chain if c.subject == each.crl.issuer), None)
            if signer is None or not each.crl.is_signature_valid(signer.public_key()):  # type: ignore[arg-type]
                raise CAError(f"CRL of {each.ca_name} not signed by the chain")
            next_update = each.crl.next_update_utc
            if next_update is None or next_update <= now:
                raise CAError(f"CRL of {each.ca_name} out of date")
        return ", ".join(each.ca_name for each in crls)

    def check_chain(self) -> str:
        return check_chain(self.adapter.trust_chain(), self.clock.now())

    def openssl_verify(self, issued: IssuedCertificate, tmp_path: Path) -> str:
        """``openssl verify -crl_check_all`` at the suite's clock, as a gateway checks."""
        if shutil.which("openssl") is None:
            pytest.skip("openssl not installed")
        chain = self.adapter.trust_chain()
        pem = serialization.Encoding.PEM
        (tmp_path / "root.pem").write_bytes(chain[-1].public_bytes(pem))
        (tmp_path / "untrusted.pem").write_bytes(b"".join(c.public_bytes(pem) for c in chain[:-1]))
        (tmp_path / "leaf.pem").write_bytes(issued.certificate.public_bytes(pem))
        (tmp_path / "crls.pem").write_bytes(b"".join(each.pem for each in self.current_crls()))
        result = subprocess.run(
            [
                "openssl", "verify", "-crl_check_all",
                "-attime", str(int(self.clock.now().timestamp())),
                "-CAfile", str(tmp_path / "root.pem"),
                "-untrusted", str(tmp_path / "untrusted.pem"),
                "-CRLfile", str(tmp_path / "crls.pem"),
                str(tmp_path / "leaf.pem"),
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return (result.stdout + result.stderr).strip()


def _download(url: str) -> x509.CertificateRevocationList:
    """A CRL as a gateway fetches it: directly (no proxy), DER or PEM."""
    http = requests.Session()
    http.trust_env = False
    with http:
        response = http.get(url, timeout=10)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    if response.content.startswith(b"-----"):
        return x509.load_pem_x509_crl(response.content)
    return x509.load_der_x509_crl(response.content)
