"""A strict RFC 5280 validator, given only the root, checks a client certificate by itself.

pyhanko-certvalidator in ``revocation_mode="require"`` fetches everything from the URLs in
the certificates: the issuing CA through the leaf's AIA caIssuers (``/ca/issuing.cer``),
the issuing CA's revocation through its CRL DP (the root's CRL), and the leaf's through
its CRL DP and AIA OCSP, all served by certsvc at the public address of a fresh home
whose only network settings are ``[http] host`` and ``port``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from ca_adapters.base import CRLSigner, IssuingRollover
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.domain.policy import RevocationReason
from tests.conftest import COMPANY, OPERATOR, POSTGRES_URL, empty_postgres, make_settings
from tests.e2e.conftest import ClientCert, certsvc_http, free_port, issue_client, wait_until

RULES = {
    "require": None,  # revocation_mode="require": OCSP or CRL, for every certificate
    "ocsp": RevocationCheckingRule.OCSP_REQUIRED,
    "crl": RevocationCheckingRule.CRL_REQUIRED,
}


@dataclass
class Served:
    services: Services
    clock: FixedClock
    url: str
    root: x509.Certificate
    alice: ClientCert
    bob: ClientCert


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, postgres_ready: bool) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("strict")
    if postgres_ready:
        empty_postgres()
    database_url = POSTGRES_URL or f"sqlite:///{directory / 'certsvc.db'}"
    port = free_port()
    settings = make_settings(
        directory / "home",
        database_url,
        http={"host": "127.0.0.1", "port": port},
        gateway={"crl_check_seconds": 1, "poll_seconds": 0.2},
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    services = Services(settings, clock)
    services.initialise()
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    alice = issue_client(services, "alice", directory)
    bob = issue_client(services, "bob", directory)
    root = services.adapter.trust_chain()[-1]
    with certsvc_http(services, port) as url:
        yield Served(services, clock, url, root, alice, bob)
    services.engine.dispose()


def _validate(served: Served, client: ClientCert, rule: RevocationCheckingRule | None) -> int:
    """Validate ``client`` for client auth from the root alone; the number of OCSP
    responses and CRLs the validator fetched."""
    root = asn1_x509.Certificate.load(served.root.public_bytes(serialization.Encoding.DER))
    leaf = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(client.cert.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    options: dict[str, object] = {"revocation_mode": "require"}
    if rule is not None:
        policy = RevocationCheckingPolicy(rule, RevocationCheckingRule.CRL_REQUIRED)
        options = {"revinfo_policy": CertRevTrustPolicy(policy)}
    context = ValidationContext(
        trust_roots=[root],
        allow_fetching=True,
        moment=served.clock.now(),
        fetcher_backend=RequestsFetcherBackend(per_request_timeout=5),
        **options,  # type: ignore[arg-type]
    )
    validator = CertificateValidator(leaf, validation_context=context)
    try:
        asyncio.run(
            validator.async_validate_usage(
                {"digital_signature"}, extended_key_usage={"client_auth"}
            )
        )
    finally:
        asyncio.run(context.aclose())
    return len(context.ocsps) + len(context.crls)


def test_the_urls_point_at_the_public_address_of_host_and_port(served: Served):
    certificate = x509.load_pem_x509_certificate(served.alice.cert.read_bytes())
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    urls = {entry.access_method: entry.access_location.value for entry in access}
    assert [point.full_name[0].value for point in points] == [f"{served.url}/crl/issuing.crl"]
    assert urls == {
        AuthorityInformationAccessOID.OCSP: f"{served.url}/ocsp",
        AuthorityInformationAccessOID.CA_ISSUERS: f"{served.url}/ca/issuing.cer",
    }
    issuing = served.services.adapter.trust_chain()[0]
    ca_points = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [point.full_name[0].value for point in ca_points] == [f"{served.url}/crl/root.crl"]
    fetched = requests.get(urls[AuthorityInformationAccessOID.CA_ISSUERS], timeout=5)
    assert fetched.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(fetched.content) == issuing
    assert requests.get(f"{served.url}/ca/nonexistent.cer", timeout=5).status_code == 404


@pytest.mark.parametrize("rule", RULES)
def test_a_valid_certificate_is_accepted_fetching_revocation_from_certsvc(served: Served, rule):
    assert _validate(served, served.alice, RULES[rule]) >= 2  # leaf's and issuing CA's


def test_a_revoked_certificate_is_refused_by_ocsp_and_by_crl(served: Served):
    issuing_crl = f"{served.url}/crl/issuing.crl"
    before = requests.get(issuing_crl, timeout=5).headers["ETag"]
    served.services.lifecycle.revoke(served.bob.serial, RevocationReason.keyCompromise, OPERATOR)
    served.clock.advance(timedelta(seconds=1))
    wait_until(
        lambda: requests.get(issuing_crl, timeout=5).headers["ETag"] != before,
        "a new CRL without bob",
    )
    for rule in RULES.values():
        with pytest.raises(RevokedError, match="revoked"):
            _validate(served, served.bob, rule)
    assert _validate(served, served.alice, None) >= 2  # alice stays good


def _urls_of(certificate: x509.Certificate) -> tuple[list[str], dict[x509.ObjectIdentifier, str]]:
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return (
        [point.full_name[0].value for point in points],
        {entry.access_method: entry.access_location.value for entry in access},
    )


def test_after_a_rollover_the_new_issuing_ca_names_its_own_urls_and_validates(
    served: Served, tmp_path: Path
):
    """Runs last in this module: it rolls the CA over (alice's old chain must keep working)."""
    adapter = served.services.adapter
    assert isinstance(adapter, IssuingRollover)
    notes = adapter.rollover()
    assert f"CA issuer {served.url}/ca/issuing-2.cer" in notes[-1]
    carol = issue_client(served.services, "carol", tmp_path)
    leaf = x509.load_pem_x509_certificate(carol.cert.read_bytes())
    points, access = _urls_of(leaf)
    assert points == [f"{served.url}/crl/issuing-2.crl"]
    assert access == {
        AuthorityInformationAccessOID.OCSP: f"{served.url}/ocsp",
        AuthorityInformationAccessOID.CA_ISSUERS: f"{served.url}/ca/issuing-2.cer",
    }
    issuing_2 = adapter.trust_chain()[0]
    ca_points, ca_access = _urls_of(issuing_2)
    assert ca_points == [f"{served.url}/crl/root.crl"]
    assert ca_access == {AuthorityInformationAccessOID.CA_ISSUERS: f"{served.url}/ca/root.cer"}
    source = adapter.revocation_source()
    assert isinstance(source, CRLSigner)
    for name in ("root", "issuing", "issuing-2"):  # every recorded CA still in use is served
        fetched = requests.get(f"{served.url}/ca/{name}.cer", timeout=5)
        assert fetched.status_code == 200, name
        assert x509.load_der_x509_certificate(fetched.content) == source.ca_certificate(name)
    served.clock.advance(timedelta(seconds=1))
    wait_until(
        lambda: requests.get(f"{served.url}/crl/issuing-2.crl", timeout=5).status_code == 200,
        "the issuing-2 CRL",
    )
    for rule in RULES.values():
        assert _validate(served, carol, rule) >= 2  # the new CA's chain, from the root alone
    assert _validate(served, served.alice, None) >= 2  # the old CA's certificates still check
