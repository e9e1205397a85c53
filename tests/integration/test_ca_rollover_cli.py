"""``certsvc ca rollover`` through the CLI, as an operator runs it on a node.

Exit 0, the notes naming the new issuing CA and the next steps, and the chain file a
gateway loads (``certsvc ca show --pem``) carrying both issuing CAs and the root, so a
certificate from either verifies against it with ``openssl verify``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.directory import NewSubscriber
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, make_settings
from tests.integration.test_ca_custody import cli, recorded_rows
from tests.integration.test_serve import write_config
from tests.keys import make_csr


def _issue(services: Services, user_id: str, directory: Path) -> Path:
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, user_id, f"{user_id}@acme.example.jp", user_id), OPERATOR
    )
    issued = services.lifecycle.issue(COMPANY, user_id, CsrKey(make_csr()), OPERATOR)
    path = directory / f"{user_id}.pem"
    path.write_text(issued.certificate_pem)
    return path


def _verify(chain: Path, leaf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "verify", "-purpose", "sslclient", "-CAfile", str(chain), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_rollover_through_the_cli_and_the_chain_file_carries_both_issuing_cas(
    tmp_path: Path, database_url: str, clock: FixedClock
):
    home = tmp_path / "node"
    home.mkdir()
    config = write_config(home, database_url)
    assert cli(config, "init")[0] == 0
    services = Services(make_settings(home, database_url), clock)
    services.open_ca()
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    before = _issue(services, "alice", tmp_path)
    services.close()

    code, output = cli(config, "ca", "rollover")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0].startswith("new issuing CA issuing-2 (key id ")
    assert (
        "issuing keeps signing its CRL until the last certificate it issued expires" in (lines[0])
    )
    assert "certsvc ca show --pem" in lines[1]

    after_services = Services(make_settings(home, database_url), clock)
    after_services.open_ca()
    after = _issue(after_services, "bob", tmp_path)
    assert [name for name, _ in recorded_rows(after_services)] == ["root", "issuing", "issuing-2"]
    after_services.close()

    code, chain_pem = cli(config, "ca", "show", "--pem")
    assert code == 0
    chain = tmp_path / "chain.pem"
    chain.write_text(chain_pem)
    subjects = [
        each.subject.rfc4514_string().split(",")[0]
        for each in x509.load_pem_x509_certificates(chain.read_bytes())
    ]
    assert subjects == ["CN=certsvc Issuing CA 2", "CN=certsvc Issuing CA 1", "CN=certsvc Root CA"]
    issuers = {
        x509.load_pem_x509_certificate(path.read_bytes()).issuer.rfc4514_string().split(",")[0]
        for path in (before, after)
    }
    assert issuers == {"CN=certsvc Issuing CA 1", "CN=certsvc Issuing CA 2"}
    for leaf in (before, after):
        verified = _verify(chain, leaf)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    # the key of the new issuing CA is on this node, beside the first one
    assert (home / "ca" / "issuing-2.key").exists()
    assert (home / "ca" / "issuing-2.pem").read_bytes().strip() == (
        x509.load_pem_x509_certificates(chain.read_bytes())[0]
        .public_bytes(serialization.Encoding.PEM)
        .strip()
    )
