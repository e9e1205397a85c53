"""One CA per database: two certsvc homes on one database, as an operator scales out.

The first home's ``certsvc init`` makes the CA and records it; a second home without the
CA files must refuse (init and serve) with one line naming the CA, work once given the
copied files, and refuse a key or certificate of another CA. ``ca check`` and
``/readyz`` fail on a key that does not match and on a CRL the recorded CA did not sign.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.cli.main import main
from certsvc.clock import FixedClock
from certsvc.directory import NewSubscriber
from certsvc.feed.ca_check import check_ca
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.db import transaction
from certsvc.storage.models import PublishedCRL, RecordedCA
from tests.conftest import COMPANY, OPERATOR, make_settings
from tests.integration.test_serve import write_config
from tests.keys import make_csr


def cli(config: Path, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *arguments])
    structlog.reset_defaults()  # the CLI configured process-wide logging; undo it
    return result.exit_code, result.output


def recorded_rows(services: Services) -> list[tuple[str, str]]:
    with services.sessions() as session:
        rows = session.scalars(select(RecordedCA).order_by(RecordedCA.id))
        return [(row.ca_name, row.key_id) for row in rows]


@pytest.fixture
def first(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[Services]:
    """Home A, initialised: it made the CA and recorded it in the shared database."""
    services = Services(make_settings(tmp_path / "a", database_url), clock)
    services.initialise()
    yield services
    services.close()


def test_init_records_the_root_and_issuing_ca_with_their_key_ids(first: Services):
    rows = recorded_rows(first)
    assert [name for name, _ in rows] == ["root", "issuing"]
    chain = first.adapter.trust_chain()
    issuing, root = (
        ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        for ca in chain
    )
    assert rows[0][1] == root.hex(":").upper()
    assert rows[1][1] == issuing.hex(":").upper()


def test_a_second_home_without_the_ca_files_refuses_init_and_serve(
    first: Services, tmp_path: Path, database_url: str
):
    home = tmp_path / "b"
    home.mkdir()
    config = write_config(home, database_url)
    code, output = cli(config, "init")
    assert code == 6
    lines = output.strip().splitlines()
    assert lines[-1].startswith("certsvc: error: this database belongs to CA ")
    assert "CN=certsvc Root CA" in lines[-1]
    assert recorded_rows(first)[0][1] in lines[-1]  # the root key id, to compare by eye
    assert "copy the CA directory" in lines[-1]
    assert len(recorded_rows(first)) == 2  # no second CA recorded
    assert not list(home.rglob("*.key"))  # and none made on disk
    served = subprocess.run(
        [sys.executable, "-m", "certsvc", "--config", str(config), "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CERTSVC_CONFIG": ""},
        check=False,
    )
    assert served.returncode == 6
    detail = lines[-1].removeprefix("certsvc: error: ")  # serve says why, as init did
    assert served.stderr.strip().splitlines()[-1] == f"certsvc: error: the CA cannot sign: {detail}"


def test_with_the_copied_ca_files_the_second_home_issues_from_the_same_ca(
    first: Services, tmp_path: Path, database_url: str, clock: FixedClock
):
    shutil.copytree(first.settings.home_dir / "ca", tmp_path / "b" / "ca")
    config = write_config(tmp_path / "b", database_url)
    code, output = cli(config, "init")
    assert code == 0, output
    second = Services(make_settings(tmp_path / "b", database_url), clock)
    second.open_ca()
    second.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    second.directory.add_subscriber(
        NewSubscriber(COMPANY, "hanako", "hanako@acme.example.jp", "Hanako"), OPERATOR
    )
    issued = second.lifecycle.issue(COMPANY, "hanako", CsrKey(make_csr()), OPERATOR)
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    certificate.verify_directly_issued_by(first.adapter.trust_chain()[0])
    assert len(recorded_rows(first)) == 2
    assert cli(config, "ca", "check")[0] == 0
    second.close()


def _another_ca(tmp_path: Path, clock: FixedClock) -> Path:
    """A CA made by a home on a database of its own: the files of another CA."""
    other = Services(make_settings(tmp_path / "x", f"sqlite:///{tmp_path / 'x.db'}"), clock)
    other.initialise()
    other.close()
    return tmp_path / "x" / "ca"


def test_the_files_of_another_ca_are_refused(
    first: Services, tmp_path: Path, database_url: str, clock: FixedClock
):
    shutil.copytree(_another_ca(tmp_path, clock), tmp_path / "b" / "ca")
    config = write_config(tmp_path / "b", database_url)
    code, output = cli(config, "init")
    assert code == 6
    assert "does not match CA " in output.strip().splitlines()[-1]
    assert "this node refuses to sign" in output
    assert len(recorded_rows(first)) == 2


def test_a_copied_certificate_with_another_key_is_refused(
    first: Services, tmp_path: Path, database_url: str, clock: FixedClock
):
    """The right certificates beside the wrong issuing key (same passphrase)."""
    copied = tmp_path / "b" / "ca"
    shutil.copytree(first.settings.home_dir / "ca", copied)
    other = _another_ca(tmp_path, clock)
    shutil.copy(other / "issuing.key", copied / "issuing.key")
    shutil.copy(other / "passphrase", copied / "passphrase")
    shutil.copy(other / "root.key", copied / "root.key")
    config = write_config(tmp_path / "b", database_url)
    code, output = cli(config, "init")
    assert code == 6
    assert "the root CA key or certificate in key files in" in output
    code, output = cli(config, "ca", "check")
    assert code == 5
    assert "FAIL  keys" in output
    second = Services(make_settings(tmp_path / "b", database_url), clock)
    second.gateway.poll_once()
    answer = TestClient(create_app(second)).get("/readyz")
    assert answer.status_code == 503
    assert "does not match CA" in answer.json()["detail"]
    second.close()


def test_a_served_crl_not_signed_by_the_recorded_ca_fails_check_and_readyz(
    first: Services, tmp_path: Path, clock: FixedClock
):
    """The CRL rows of the database, re-signed by an intruder's key under the same name."""
    first.crls.current()
    intruder = ec.generate_private_key(ec.SECP256R1())
    with transaction(first.sessions) as session:
        stored = session.scalars(select(PublishedCRL).where(PublishedCRL.ca_name == "issuing"))
        for row in stored:
            crl = x509.load_der_x509_crl(row.der)
            forged = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(crl.issuer)
                .last_update(crl.last_update_utc)
                .next_update(crl.next_update_utc or crl.last_update_utc + timedelta(days=1))
                .sign(intruder, hashes.SHA256())
            )
            row.der = forged.public_bytes(serialization.Encoding.DER)
    lines = {line.name: line for line in check_ca(first.adapter, first.crls, clock)}
    assert lines["keys"].ok  # the keys are fine: the CRL is what is wrong
    assert not lines["crl"].ok
    assert "the issuing CRL #1 is not signed by the CA this database records" in (
        lines["crl"].detail
    )
    first.gateway.poll_once()
    answer = TestClient(create_app(first)).get("/readyz")
    assert answer.status_code == 503
    assert "not signed by the CA this database records" in answer.json()["detail"]


def test_the_cli_refuses_rollover_for_an_adapter_without_it(tmp_path: Path):
    config = tmp_path / "certsvc.toml"
    config.write_text(
        f'home = "{tmp_path}"\n[ca]\nadapter = "globalsign"\n'
        '[ca.globalsign]\napi_key = "k"\napi_secret = "s"\n'
    )
    code, output = cli(config, "ca", "rollover")
    assert code == 6
    assert "CA adapter 'globalsign' cannot roll over its issuing CA" in output
