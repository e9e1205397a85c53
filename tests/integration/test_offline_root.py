"""The offline root: the root ceremony between two certsvc homes, files passed on disk.

The online home (``ca.local.offline_root = true``) exports its issuing CA request; the
offline home (its own config, no database touched) makes the root, signs the issuing CA
and a one-year root CRL; the online home imports them, never holding the root key. It
issues, serves the imported root CRL byte for byte, and ``openssl verify -crl_check_all``
accepts a leaf and refuses a revoked one. Near the root CRL's nextUpdate the online node
warns (``ca check`` WARN, the metric), and once past ``ca check`` and ``/readyz`` fail.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.cli.main import main
from certsvc.clock import FixedClock
from certsvc.domain.policy import RevocationReason
from certsvc.feed.crl import bundle_pem, gateway_chain
from tests.conftest import COMPANY, OPERATOR, make_settings
from tests.e2e.conftest import issue_client
from tests.integration.test_serve import write_config

OFFLINE = "[ca.local]\noffline_root = true\n"


def run(config: Path, clock: FixedClock, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *arguments], obj=clock)
    structlog.reset_defaults()  # the CLI configured process-wide logging; undo it
    return result.exit_code, result.output


@dataclass
class Ceremony:
    online: Path
    offline: Path
    online_config: Path
    offline_config: Path
    transfer: Path
    database_url: str

    def services(self, clock: FixedClock) -> Services:
        settings = make_settings(
            self.online, self.database_url, ca={"local": {"offline_root": True}}
        )
        return Services(settings, clock)


@pytest.fixture
def ceremony(tmp_path: Path, database_url: str, clock: FixedClock) -> Ceremony:
    online, offline, transfer = tmp_path / "online", tmp_path / "offline", tmp_path / "usb"
    for each in (online, offline, transfer):
        each.mkdir()
    online_config = write_config(online, database_url, OFFLINE)
    offline_config = write_config(offline, f"sqlite:///{offline / 'never.db'}")
    code, output = run(online_config, clock, "init")
    assert code == 0, output
    assert "offline root: no CA imported" in output
    code, output = run(online_config, clock, "ca", "issuing-csr", "-o", str(transfer / "i.csr"))
    assert code == 0, output
    csr = transfer / "i.csr"
    code, output = run(
        offline_config, clock, "ca", "root-ceremony", "--csr", str(csr), "--out", str(transfer)
    )
    assert code == 0, output
    assert "created the root CA" in output
    signed = [str(transfer / name) for name in ("root.pem", "issuing.pem", "root.crl")]
    code, output = run(
        online_config, clock, "ca", "import-root",
        "--root", signed[0], "--issuing", signed[1], "--crl", signed[2],
    )  # fmt: skip
    assert code == 0, output
    assert "imported the issuing CA" in output
    return Ceremony(online, offline, online_config, offline_config, transfer, database_url)


def test_the_online_home_has_no_root_key_and_the_offline_home_no_database(ceremony: Ceremony):
    assert sorted(p.name for p in ceremony.online.rglob("*.key")) == ["issuing.key"]
    assert sorted(p.name for p in ceremony.offline.rglob("*.key")) == ["root.key"]
    assert not (ceremony.offline / "never.db").exists()
    assert not list(ceremony.online.rglob("*.csr"))  # the waiting request is settled


def test_the_issuing_ca_signed_offline_names_the_root_crl_and_the_root_certificate(
    ceremony: Ceremony,
):
    """A strict validator finds the root's CRL from the issuing CA certificate itself."""
    issuing = x509.load_pem_x509_certificate((ceremony.transfer / "issuing.pem").read_bytes())
    points = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    urls = [name.value for point in points for name in point.full_name or ()]
    assert urls
    assert all(url.endswith("/crl/root.crl") for url in urls)
    access = issuing.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert any(each.access_location.value.endswith("/ca/root.cer") for each in access)


def test_issuance_works_and_openssl_checks_the_imported_root_crl_and_the_issuing_crl(
    ceremony: Ceremony, clock: FixedClock, tmp_path: Path
):
    services = ceremony.services(clock)
    services.open_ca()
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    good = issue_client(services, "alice", tmp_path)
    bad = issue_client(services, "bob", tmp_path)
    services.lifecycle.revoke(bad.serial, RevocationReason.keyCompromise, OPERATOR)
    clock.advance(timedelta(seconds=1))
    files = {crl.ca_name: crl for crl in services.crls.current()}
    imported = x509.load_pem_x509_crl((ceremony.transfer / "root.crl").read_bytes())
    assert files["root"].der == imported.public_bytes(serialization.Encoding.DER)  # served as is
    assert imported.next_update_utc is not None
    assert (imported.next_update_utc - imported.last_update_utc).days == 365
    chain = tmp_path / "chain.pem"
    chain.write_bytes(
        b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in gateway_chain(services.adapter)
        )
    )
    bundle = tmp_path / "crls.pem"
    bundle.write_bytes(bundle_pem(list(files.values())))
    verify = ["openssl", "verify", "-crl_check_all", "-CAfile", str(chain), "-CRLfile", str(bundle)]
    accepted = subprocess.run(
        [*verify, str(good.cert)], capture_output=True, text=True, check=False
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    refused = subprocess.run([*verify, str(bad.cert)], capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr
    services.close()


def test_the_online_node_warns_before_the_root_crl_next_update_and_fails_after(
    ceremony: Ceremony, clock: FixedClock
):
    imported = x509.load_pem_x509_crl((ceremony.transfer / "root.crl").read_bytes())
    next_update = imported.next_update_utc
    assert next_update is not None
    clock.set(next_update - timedelta(days=31))
    code, output = run(ceremony.online_config, clock, "ca", "check")
    assert code == 0, output
    assert "ok    root crl  root CRL #1 (imported) valid until" in output
    clock.set(next_update - timedelta(days=29))
    code, output = run(ceremony.online_config, clock, "ca", "check")
    assert code == 0, output
    warn = next(line for line in output.splitlines() if "root crl" in line)
    assert warn.startswith("WARN  root crl  root CRL #1 (imported) expires")
    assert "in 29 days" in warn
    assert "certsvc ca root-ceremony" in warn
    services = ceremony.services(clock)
    api = TestClient(create_app(services))
    left = _metric(api, "certsvc_root_crl_seconds_to_next_update")
    assert left == (next_update - clock.now()).total_seconds()
    clock.set(next_update + timedelta(hours=1))
    code, output = run(ceremony.online_config, clock, "ca", "check")
    assert code == 5
    assert "FAIL  root crl  root CRL #1 (imported) expired at" in output
    chain = gateway_chain(services.adapter)
    asked = ocsp.OCSPRequestBuilder().add_certificate(chain[0], chain[1], hashes.SHA256()).build()
    answer = api.post(
        "/ocsp",
        content=asked.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    unauthorized = ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert ocsp.load_der_ocsp_response(answer.content).response_status is unauthorized
    services.gateway.poll_once()
    answer = api.get("/readyz")
    assert answer.status_code == 503
    assert "CRL of root is past its nextUpdate" in answer.json()["detail"]
    services.close()


def _metric(api: TestClient, name: str) -> float:
    text = api.get("/metrics").text
    samples = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]
    assert len(samples) == 1, text
    return samples[0]


def test_a_renewed_root_crl_is_imported_alone_and_an_older_one_refused(
    ceremony: Ceremony, clock: FixedClock, tmp_path: Path
):
    first = (ceremony.transfer / "root.crl").read_bytes()
    clock.advance(timedelta(days=340))
    renewal = tmp_path / "renewal"
    code, output = run(ceremony.offline_config, clock, "ca", "root-ceremony", "--out", str(renewal))
    assert code == 0, output
    assert "opened the root CA" in output
    assert "root CRL #2" in output
    assert not (renewal / "issuing.pem").exists()
    code, output = run(
        ceremony.online_config, clock, "ca", "import-root", "--crl", str(renewal / "root.crl")
    )
    assert code == 0, output
    assert "imported root CRL #2" in output
    code, output = run(ceremony.online_config, clock, "ca", "check")
    assert code == 0
    assert "ok    root crl  root CRL #2 (imported) valid until" in output
    old = tmp_path / "old.crl"
    old.write_bytes(first)
    code, output = run(ceremony.online_config, clock, "ca", "import-root", "--crl", str(old))
    assert code == 6
    assert "the root CRL #1 is not newer than the served #2" in output


def test_what_needs_the_root_key_or_another_root_is_refused(
    ceremony: Ceremony, clock: FixedClock, tmp_path: Path
):
    code, output = run(ceremony.online_config, clock, "ca", "rollover")
    assert code == 6
    assert "the root key is offline" in output
    assert "certsvc ca issuing-csr" in output
    assert sorted(p.name for p in ceremony.online.rglob("*.key")) == ["issuing.key"]
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    stranger_config = write_config(stranger, f"sqlite:///{stranger / 'never.db'}")
    code, output = run(stranger_config, clock, "ca", "root-ceremony", "--out", str(stranger / "o"))
    assert code == 0, output
    code, output = run(
        ceremony.online_config, clock, "ca", "import-root", "--crl", str(stranger / "o/root.crl")
    )
    assert code == 6
    assert "the root CRL is not signed by the root this database records" in output
    bad = tmp_path / "bad.csr"
    bad.write_text("not a request")
    code, output = run(
        ceremony.offline_config, clock, "ca", "root-ceremony", "--csr", str(bad), "--out",
        str(tmp_path / "nothing"),
    )  # fmt: skip
    assert code == 6
    assert "the issuing CA request is not a PEM CSR" in output
    assert not (tmp_path / "nothing").exists()  # nothing half-written


def test_asking_twice_gives_the_same_request_and_a_foreign_certificate_is_refused(
    tmp_path: Path, database_url: str, clock: FixedClock
):
    online, offline = tmp_path / "online", tmp_path / "offline"
    for each in (online, offline):
        each.mkdir()
    online_config = write_config(online, database_url, OFFLINE)
    offline_config = write_config(offline, f"sqlite:///{offline / 'never.db'}")
    assert run(online_config, clock, "init")[0] == 0
    first, second = tmp_path / "1.csr", tmp_path / "2.csr"
    assert run(online_config, clock, "ca", "issuing-csr", "-o", str(first))[0] == 0
    code, output = run(online_config, clock, "ca", "issuing-csr", "-o", str(second))
    assert code == 0, output
    assert "the issuing CA request made before" in output
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in online.rglob("*.key")) == ["issuing.key"]
    other = tmp_path / "other.csr"
    other.write_bytes(
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    out = tmp_path / "out"
    code, output = run(
        offline_config, clock, "ca", "root-ceremony", "--csr", str(other), "--out", str(out)
    )
    assert code == 0, output
    code, output = run(
        online_config, clock, "ca", "import-root",
        "--root", str(out / "root.pem"), "--issuing", str(out / "issuing.pem"),
        "--crl", str(out / "root.crl"),
    )  # fmt: skip
    assert code == 6
    assert "the issuing CA certificate is not for the request in" in output
    code, output = run(online_config, clock, "ca", "check")
    assert code == 5
    assert "offline root: no CA imported" in output
