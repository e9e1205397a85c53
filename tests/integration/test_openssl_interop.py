"""Every artefact certsvc issues, checked by the real ``openssl`` binary."""

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from certsvc.domain.policy import RevocationReason
from certsvc.feed.crl import bundle_pem
from certsvc.lifecycle.operations import CsrKey, ServerKey
from tests.conftest import OPERATOR
from tests.keys import make_csr

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(*args):
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)


@pytest.fixture
def files(services, subscriber, tmp_path):
    """chain.pem, a valid and a revoked certificate, and the CRL bundle."""
    lifecycle = services.lifecycle
    valid = lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    revoked = lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    lifecycle.revoke(revoked.certificate.serial, RevocationReason.keyCompromise, OPERATOR)
    published = services.crls.current()
    chain = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in services.adapter.trust_chain()
    )
    paths = {
        "chain": chain,
        "valid": valid.certificate_pem.encode(),
        "revoked": revoked.certificate_pem.encode(),
        "crls": bundle_pem(published),
        "issuing_crl": bundle_pem([c for c in published if c.ca_name == "issuing"]),
    }
    for name, data in paths.items():
        (tmp_path / f"{name}.pem").write_bytes(data)
    return {name: tmp_path / f"{name}.pem" for name in paths}


def test_openssl_verifies_an_issued_certificate(files):
    result = openssl("verify", "-CAfile", files["chain"], "-purpose", "sslclient", files["valid"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": OK")


def verify_with_crls(files, certificate):
    """``openssl verify -crl_check_all``: every CA of the chain needs its CRL."""
    return openssl(
        "verify",
        "-crl_check_all",
        "-CAfile",
        files["chain"],
        "-CRLfile",
        files["crls"],
        certificate,
    )


def test_crl_check_all_passes_a_valid_certificate(files):
    result = verify_with_crls(files, files["valid"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_crl_check_all_refuses_a_revoked_certificate(files):
    result = verify_with_crls(files, files["revoked"])
    assert result.returncode != 0
    assert "certificate revoked" in result.stdout + result.stderr


def test_openssl_crl_shows_the_reason(files):
    result = openssl("crl", "-in", files["issuing_crl"], "-noout", "-text")
    assert result.returncode == 0
    assert "Key Compromise" in result.stdout
    assert "X509v3 CRL Number" in result.stdout
    assert "X509v3 Authority Key Identifier" in result.stdout


def test_openssl_opens_our_pkcs12_with_the_password(services, subscriber, tmp_path):
    issued = services.lifecycle.issue(*subscriber, ServerKey(b"correct horse 42"), OPERATOR)
    bundle = tmp_path / "taro.p12"
    bundle.write_bytes(issued.pkcs12)
    result = openssl("pkcs12", "-in", bundle, "-passin", "pass:correct horse 42", "-info", "-noout")
    assert result.returncode == 0, result.stderr
    assert "AES-256-CBC" in result.stderr
    assert "MAC: sha256" in result.stderr
    wrong = openssl("pkcs12", "-in", bundle, "-passin", "pass:wrong password", "-noout")
    assert wrong.returncode != 0
