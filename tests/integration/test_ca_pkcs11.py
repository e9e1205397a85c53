"""CA keys in a PKCS#11 token (SoftHSM2): made there, signing there, never on disk.

``[ca.local] key_store = "pkcs11"``: ``certsvc init`` generates both CA keys inside the
token (sensitive, not extractable); certificates, CRLs and OCSP responses are signed by
the token, and ``openssl`` verifies each. A second node logged in to the same token
signs for the same CA without any key file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from ca_adapters.local.options import LocalOptions
from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.config import Settings
from certsvc.directory import NewSubscriber
from certsvc.domain.policy import RevocationReason
from certsvc.errors import ConfigError
from certsvc.feed.crl import bundle_pem
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, make_settings
from tests.integration.test_serve import write_config
from tests.keys import make_csr

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN, SO_PIN, LABEL = "1234", "12345678", "certsvc"
pkcs11 = pytest.importorskip("pkcs11")
token_store = pytest.importorskip("ca_adapters.local.pkcs11")
pytestmark = pytest.mark.skipif(
    not Path(MODULE).exists()
    or not (shutil.which("softhsm2-util") and shutil.which("pkcs11-tool")),
    reason="SoftHSM2 or OpenSC not installed",
)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SoftHSM2 token in a temp directory (one per run: the module loads once)."""
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {directory / 'tokens'}\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", LABEL, "--so-pin", SO_PIN,
         "--pin", PIN],
        check=True, capture_output=True,
    )  # fmt: skip
    yield LABEL
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def pin(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CERTSVC_PKCS11_PIN", PIN)
    return PIN


def hsm_table(name: str) -> dict[str, object]:
    return {
        "key_store": "pkcs11",
        "pkcs11_module": MODULE,
        "token_label": LABEL,
        "name": name,
    }


def hsm_settings(home: Path, database_url: str, name: str, **extra: object) -> Settings:
    return make_settings(home, database_url, ca={"local": {**hsm_table(name), **extra}})


@pytest.fixture
def now_clock() -> FixedClock:
    """openssl judges validity by the real clock, so certsvc's starts from it."""
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def hsm(
    token: str, pin: str, tmp_path: Path, database_url: str, now_clock: FixedClock
) -> Iterator[Services]:
    services = Services(
        hsm_settings(tmp_path / "a", database_url, f"hsm-{tmp_path.name}"), now_clock
    )
    services.initialise()
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    yield services
    services.close()


def issue(services: Services, user_id: str) -> x509.Certificate:
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, user_id, f"{user_id}@acme.example.jp", user_id), OPERATOR
    )
    issued = services.lifecycle.issue(COMPANY, user_id, CsrKey(make_csr()), OPERATOR)
    return x509.load_pem_x509_certificate(issued.certificate_pem.encode())


def openssl(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, cwd=cwd
    )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_the_ca_keys_are_made_in_the_token_and_never_written_to_disk(hsm: Services, tmp_path: Path):
    home = hsm.settings.home_dir
    assert not list(home.rglob("*.key"))
    assert not list(home.rglob("passphrase"))
    for path in (p for p in home.rglob("*") if p.is_file()):
        assert b"PRIVATE KEY" not in path.read_bytes(), path
    listed = subprocess.run(
        ["pkcs11-tool", "--module", MODULE, "--token-label", LABEL, "--login", "--pin", PIN,
         "--list-objects", "--type", "privkey"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    session = pkcs11.lib(MODULE).get_token(token_label=LABEL).open()  # this process: logged in
    with session:
        for certificate in hsm.adapter.trust_chain():
            ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            entry = listed.split(f"ID:         {ski.value.digest.hex()}")[1].split("Object")[0]
            assert "Access:     sensitive, always sensitive, never extractable, local" in entry
            keys = list(
                session.get_objects(
                    {
                        pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                        pkcs11.Attribute.ID: ski.value.digest,
                    }
                )
            )
            assert len(keys) == 1
            key = keys[0]
            assert key[pkcs11.Attribute.SENSITIVE] is True
            assert key[pkcs11.Attribute.EXTRACTABLE] is False
            assert key[pkcs11.Attribute.TOKEN] is True
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                key[pkcs11.Attribute.VALUE]
    in_process = hsm.adapter.__dict__["_authorities"]["issuing"].key
    with pytest.raises(ConfigError, match="cannot be exported"):
        in_process.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def test_issue_revoke_crl_and_ocsp_signed_in_the_token_verify_with_openssl(
    hsm: Services, tmp_path: Path
):
    valid, revoked = issue(hsm, "alice"), issue(hsm, "bob")
    hsm.lifecycle.revoke(
        format(revoked.serial_number, "X"), RevocationReason.keyCompromise, OPERATOR
    )
    issuing, root = hsm.adapter.trust_chain()
    (tmp_path / "chain.pem").write_bytes(pem(issuing) + pem(root))
    (tmp_path / "issuing.pem").write_bytes(pem(issuing))
    (tmp_path / "valid.pem").write_bytes(pem(valid))
    (tmp_path / "revoked.pem").write_bytes(pem(revoked))
    (tmp_path / "crls.pem").write_bytes(bundle_pem(hsm.crls.current()))
    checked = ["verify", "-crl_check_all", "-CAfile", "chain.pem", "-CRLfile", "crls.pem"]
    good = openssl(*checked, "-purpose", "sslclient", "valid.pem", cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = openssl(*checked, "revoked.pem", cwd=tmp_path)
    assert bad.returncode != 0
    assert "certificate revoked" in bad.stdout + bad.stderr
    hsm.gateway.poll_once()
    http = TestClient(create_app(hsm))
    for name, status in (("valid", "good"), ("revoked", "revoked")):
        made = openssl("ocsp", "-issuer", "issuing.pem", "-cert", f"{name}.pem", "-reqout",
                       f"{name}.req", "-no_nonce", cwd=tmp_path)  # fmt: skip
        assert made.returncode == 0, made.stderr
        answer = http.post(
            "/ocsp",
            content=(tmp_path / f"{name}.req").read_bytes(),
            headers={"Content-Type": "application/ocsp-request"},
        )
        assert answer.status_code == 200
        (tmp_path / f"{name}.resp").write_bytes(answer.content)
        read = openssl("ocsp", "-respin", f"{name}.resp", "-issuer", "issuing.pem", "-cert",
                       f"{name}.pem", "-CAfile", "chain.pem", cwd=tmp_path)  # fmt: skip
        assert "Response verify OK" in read.stderr, read.stderr
        assert f"{name}.pem: {status}" in read.stdout


def test_a_second_node_signs_for_the_same_ca_through_the_shared_token(
    hsm: Services, tmp_path: Path, database_url: str, now_clock: FixedClock
):
    """No files are copied: the certificates come from the database, the keys from the token."""
    name = hsm.settings.ca.options("local")["name"]
    second = Services(hsm_settings(tmp_path / "b", database_url, str(name)), now_clock)
    notes = second.initialise()
    assert not any("created" in note for note in notes)
    certificate = issue(second, "carol")
    certificate.verify_directly_issued_by(hsm.adapter.trust_chain()[0])
    assert not list((tmp_path / "b").rglob("*.key"))
    second.close()


def certsvc_init(config: Path, pin: str | None) -> subprocess.CompletedProcess[str]:
    """``certsvc init`` as its own process: a PKCS#11 login lasts as long as the process."""
    env = {key: value for key, value in os.environ.items() if key != "CERTSVC_PKCS11_PIN"}
    if pin is not None:
        env["CERTSVC_PKCS11_PIN"] = pin
    return subprocess.run(
        [sys.executable, "-m", "certsvc", "--config", str(config), "init"],
        capture_output=True, text=True, check=False, env={**env, "CERTSVC_CONFIG": ""},
    )  # fmt: skip


def test_the_pin_from_a_file_and_a_missing_or_wrong_pin(
    token: str, tmp_path: Path, database_url: str
):
    home = tmp_path / "home"
    home.mkdir()
    table = hsm_table(f"pin-{tmp_path.name}")
    extra = "[ca.local]\n" + "".join(f'{key} = "{value}"\n' for key, value in table.items())
    config = write_config(home, database_url, extra)
    refused = certsvc_init(config, None)
    assert refused.returncode == 6
    assert "PKCS#11 PIN not set: export CERTSVC_PKCS11_PIN" in refused.stderr
    wrong = certsvc_init(config, "0000")
    assert wrong.returncode == 6
    assert f"PKCS#11 token '{LABEL}' ({MODULE}) cannot be opened" in wrong.stderr
    assert "0000" not in wrong.stderr + wrong.stdout
    (home / "pin").write_text(PIN + "\n")
    config = write_config(home, database_url, extra + 'pin_file = "pin"\n')
    made = certsvc_init(config, None)
    assert made.returncode == 0, made.stderr
    assert f"keys in PKCS#11 token '{LABEL}'" in made.stdout


def test_undo_destroys_the_token_keys_this_process_made(token: str, pin: str, tmp_path: Path):
    """What a node losing the init race runs (tests/integration/test_ca_init_race.py
    races two file nodes; two token sessions of one process cannot generate at once)."""
    name = f"undo-{tmp_path.name}"
    store = token_store.Pkcs11KeyStore(LocalOptions.model_validate(hsm_table(name)), tmp_path)
    store.prepare()
    store.generate("root", "ecdsa-p256")
    store.generate("issuing", "ecdsa-p256")
    assert _labels(name) == [f"{name} issuing", f"{name} root"]
    store.undo()
    assert _labels(name) == []


def _labels(prefix: str) -> list[str]:
    session = pkcs11.lib(MODULE).get_token(token_label=LABEL).open()
    with session:
        found = session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY})
        labels = [str(key[pkcs11.Attribute.LABEL]) for key in found]
    return sorted(label for label in labels if label.startswith(prefix))
