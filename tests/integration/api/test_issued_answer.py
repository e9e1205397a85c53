"""An issue, renew or reissue answer carries the certificate PEM and the chain above it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from fastapi.testclient import TestClient

from ca_adapters.local.adapter import LocalCA
from certsvc.app import Services
from tests.integration.api.conftest import bearer, issue
from tests.keys import make_csr

CERTIFICATE_KEYS = {"serial", "sha256", "state", "company_number", "user_id", "not_after"}


def verified(answer: dict[str, str], tmp_path: Path) -> str:
    """``openssl verify`` of the answer's PEM against its own chain; openssl's output."""
    pem = x509.load_pem_x509_certificate(answer["certificate_pem"].encode())
    assert format(pem.serial_number, "X").zfill(len(answer["serial"])) == answer["serial"]
    (tmp_path / "chain.pem").write_text(answer["chain_pem"])
    (tmp_path / "cert.pem").write_text(answer["certificate_pem"])
    done = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "chain.pem"), str(tmp_path / "cert.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def chain_subjects(answer: dict[str, str]) -> list[str]:
    chain = x509.load_pem_x509_certificates(answer["chain_pem"].encode())
    return [each.subject.rfc4514_string() for each in chain]


def test_issue_answer_has_pem_and_a_chain_openssl_accepts(
    api: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    answer = issue(api, tokens["helpdesk"])
    assert CERTIFICATE_KEYS <= set(answer)  # the existing keys stay
    assert "OK" in verified(answer, tmp_path)
    chain = x509.load_pem_x509_certificates(answer["chain_pem"].encode())
    assert len(chain) == 2  # issuing CA first, then the root
    assert chain[1].subject == chain[1].issuer
    assert chain[0].issuer == chain[1].subject


def test_renew_and_reissue_answers_carry_pem_and_chain(
    api: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    old = issue(api, tokens["helpdesk"])
    headers = bearer(tokens["helpdesk"])
    renewed = api.post(
        f"/api/v1/certificates/{old['serial']}/renew",
        json={"csr": make_csr().decode()},
        headers=headers,
    )
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["replaces"] == old["serial"]
    verified(renewed.json(), tmp_path)
    body = {"reason": "pc-change", "csr": make_csr().decode()}
    reissued = api.post(
        f"/api/v1/certificates/{renewed.json()['serial']}/reissue", json=body, headers=headers
    )
    assert reissued.status_code == 201, reissued.text
    verified(reissued.json(), tmp_path)


def test_after_a_rollover_the_chain_is_that_of_the_ca_that_signed(
    api: TestClient, tokens: dict[str, str], services: Services, tmp_path: Path
) -> None:
    before = issue(api, tokens["helpdesk"])
    adapter = services.adapter
    assert isinstance(adapter, LocalCA)
    adapter.rollover()
    after = issue(api, tokens["helpdesk"])
    verified(after, tmp_path)
    assert chain_subjects(after)[0] != chain_subjects(before)[0]
    assert chain_subjects(after)[1] == chain_subjects(before)[1]  # the same root
    assert len(chain_subjects(after)) == 2  # only the CA that signed it, not the old one too
