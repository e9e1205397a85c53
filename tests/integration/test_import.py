"""Importing certificates another CA issued (made here by ``openssl``): they get onto the
allowlist, get the reminders of their expiry date and expire the day after it."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.cli.main import main
from certsvc.clock import FixedClock
from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import RevokeOld
from certsvc.domain.fingerprints import sha1_hex, sha256_hex
from certsvc.domain.imports import read_certificates
from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.imports import CertificateImport
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import AuditEvent, Certificate
from scheduler.daemon import nightly_parts
from scheduler.jobs import run_nightly
from tests import timestamps
from tests.conftest import COMPANY, OPERATOR
from tests.keys import make_csr


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def old_ca(tmp_path: Path) -> Path:
    """The CA a service moves away from: a self-signed openssl CA in ``old-ca/``."""
    where = tmp_path / "old-ca"
    where.mkdir()
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=where)
    openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Old CA", "-days", "3650",
        "-out", "ca.pem", cwd=where,
    )  # fmt: skip
    return where


def leaf(ca: Path, name: str, subject: str, email: str | None, days: int = 90) -> Path:
    """``name``.pem signed by the old CA, ``days`` valid, SAN e-mail when given."""
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=ca)
    extra = ["-addext", f"subjectAltName=email:{email}"] if email else []
    openssl(
        "req", "-new", "-key", f"{name}.key", "-subj", subject, *extra, "-out", f"{name}.csr",
        cwd=ca,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", str(days), "-copy_extensions", "copy",
        "-out", f"{name}.pem", cwd=ca,
    )  # fmt: skip
    return ca / f"{name}.pem"


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def after_issuance(certificate: x509.Certificate) -> datetime:
    """The test's clock: an hour after openssl made the certificate."""
    return certificate.not_valid_before_utc + timedelta(hours=1)


@pytest.fixture
def tenant(services: Services) -> str:
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, "taro", "taro@acme.example.jp", "Taro"), OPERATOR
    )
    return COMPANY


def run_cli(services: Services, clock: FixedClock, *args: str) -> tuple[int, str, str]:
    config = Path(services.settings.home_dir) / "certsvc.toml"
    url = services.settings.database.url
    config.write_text(f'home = "{services.settings.home_dir}"\n[database]\nurl = "{url}"\n')
    result = CliRunner().invoke(
        main, ["--config", str(config), *args], obj=clock, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_imported_certificates_are_admitted_by_the_gateway(services, tenant, old_ca, clock):
    taro = leaf(old_ca, "taro", "/O=Acme KK/CN=taro", "taro@acme.example.jp")
    hanako = leaf(old_ca, "hanako", "/O=Acme KK/CN=hanako", "hanako@acme.example.jp")
    der = old_ca / "hanako.der"
    openssl("x509", "-in", "hanako.pem", "-outform", "DER", "-out", "hanako.der", cwd=old_ca)
    hanako.unlink()  # hanako comes as DER, taro as PEM, from one directory
    clock.set(after_issuance(load(taro)))

    code, out, err = run_cli(services, clock, "import", "certificates", str(old_ca), "--dry-run")
    assert code == 0, err
    assert "would import 2 certificate(s)" in out
    assert "1 CA certificate(s)" in out  # the old CA's own certificate is no subscriber's
    with services.sessions() as session:
        assert session.scalar(select(func.count(Certificate.id))) == 0

    code, out, err = run_cli(services, clock, "import", "certificates", str(old_ca))
    assert code == 0, err
    assert out.strip().startswith("imported 2 certificate(s); skipped 0 already known")
    assert "1 subscriber(s) created" in out
    assert services.directory.show_subscriber(COMPANY, "hanako").email == "hanako@acme.example.jp"

    token = services.tokens.create("gateway", "gateway-1")
    services.gateway.poll_once()
    http = TestClient(create_app(services), headers={"Authorization": f"Bearer {token}"})
    hanako_sha1 = sha1_hex(x509.load_der_x509_certificate(der.read_bytes()))
    for sha1 in (sha1_hex(load(taro)), hanako_sha1):
        assert (
            http.get("/gateway/check", headers={"X-Client-Cert-Fingerprint": sha1}).status_code
            == 204
        )
    allowlist = http.get("/gateway/allowlist").text
    assert sha256_hex(load(taro)) in allowlist
    unknown = {"X-Client-Cert-Fingerprint": "ab" * 20}
    assert http.get("/gateway/check", headers=unknown).status_code == 403

    code, out, _ = run_cli(services, clock, "import", "certificates", str(old_ca), "--json")
    assert code == 0
    assert json.loads(out) | {"serials": []} == {
        "imported": 0,
        "serials": [],
        "skipped_known": 2,
        "skipped_expired": 0,
        "skipped_ca_certificates": 1,
        "subscribers_created": 0,
        "errors": [],
        "dry_run": False,
    }


def test_a_bad_certificate_names_the_problem_and_nothing_is_imported(
    services, tenant, old_ca, clock
):
    good = leaf(old_ca, "taro", "/O=Acme KK/CN=taro", None)
    leaf(old_ca, "stranger", "/O=Nobody Ltd/CN=jiro", "jiro@nobody.example.jp")
    (old_ca / "notes.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    (old_ca / "ca.pem").unlink()
    clock.set(after_issuance(load(good)))
    code, _, err = run_cli(services, clock, "import", "certificates", str(old_ca))
    assert code == 2
    assert "notes.pem: not a valid PEM certificate bundle" in err
    (old_ca / "notes.pem").unlink()
    code, _, err = run_cli(services, clock, "import", "certificates", str(old_ca))
    assert code == 2
    assert "stranger.pem: no tenant named 'Nobody Ltd' (O=)" in err
    assert "nothing was imported" in err
    with services.sessions() as session:
        assert session.scalar(select(func.count(Certificate.id))) == 0


def test_a_mapping_file_places_certificates_without_o_or_cn(services, tenant, old_ca, clock):
    bare = leaf(old_ca, "bare", "/serialNumber=4711", "taro@acme.example.jp")
    bundle = old_ca / "bundle.pem"
    second = leaf(old_ca, "second", "/O=Acme KK/CN=jiro", "jiro@acme.example.jp")
    bundle.write_bytes(bare.read_bytes() + second.read_bytes())
    mapping = old_ca / "map.csv"
    sha256 = sha256_hex(load(bare))
    mapping.write_text(f"sha256,company_number,user_id\n{sha256},{COMPANY},taro\n")
    clock.set(after_issuance(load(bare)))
    code, out, err = run_cli(
        services, clock, "import", "certificates", str(bundle), "--mapping", str(mapping)
    )
    assert code == 0, err
    assert "imported 2 certificate(s)" in out
    with services.sessions() as session:
        owners = session.execute(select(Certificate.email, Certificate.adapter)).all()
        actions = session.scalars(select(AuditEvent.action)).all()
    assert sorted(owners) == [
        ("jiro@acme.example.jp", "import"),
        ("taro@acme.example.jp", "import"),
    ]
    assert actions.count("certificate.import") == 2


def night(services, day):
    services.clock.set(datetime.combine(day, time(0, 5), tzinfo=timestamps.JST))
    report = run_nightly(nightly_parts(services))
    if report.deferred_until is not None:
        services.clock.set(report.deferred_until)
        run_nightly(nightly_parts(services))


def test_imported_certificates_get_reminders_then_expire_the_day_after(
    mail_services, smtp_server, old_ca
):
    _, recorder = smtp_server
    mail_services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    path = leaf(old_ca, "taro", "/O=Acme KK/CN=taro", "taro@acme.example.jp", days=90)
    certificate = load(path)
    mail_services.clock.set(after_issuance(certificate))
    found = read_certificates(path.read_bytes(), str(path))
    job = CertificateImport(mail_services.sessions, mail_services.clock, mail_services.settings)
    report = job.run(found, {}, OPERATOR)
    assert (report.errors, report.subscribers_created) == ([], 1)
    serial = report.imported[0]
    view = mail_services.lifecycle.show(serial)
    expiry = view.expiry_date
    assert expiry == certificate.not_valid_after_utc.astimezone(timestamps.JST).date().isoformat()

    day = datetime.fromisoformat(expiry).date() - timedelta(days=65)
    last = datetime.fromisoformat(expiry).date()
    while day <= last:
        night(mail_services, day)
        day += timedelta(days=1)
    subjects = [str(message["Subject"]) for message in recorder.messages]
    days_left = [int(s.split("あと")[1].split("日")[0]) for s in subjects if "あと" in s]
    assert days_left == [60, 30, 14, 7, 1]
    assert len(subjects) == 5  # the reminders, each once, and no "issued" mail for an import
    assert mail_services.lifecycle.show(serial).state == "issued"
    night(mail_services, last + timedelta(days=1))
    assert mail_services.lifecycle.show(serial).state == "expired"


def test_an_imported_certificate_is_revoked_without_asking_any_ca(services, tenant, old_ca, clock):
    path = leaf(old_ca, "taro", "/O=Acme KK/CN=taro", None)
    clock.set(after_issuance(load(path)))
    job = CertificateImport(services.sessions, services.clock, services.settings)
    report = job.run(read_certificates(path.read_bytes(), "taro.pem"), {}, OPERATOR)
    revoked = services.lifecycle.revoke(
        report.imported[0], RevocationReason.keyCompromise, OPERATOR
    )
    assert revoked.state == "revoked"
    with services.sessions() as session:
        row = session.scalar(select(Certificate))
        assert row is not None
        assert (row.email, row.ca_name) == ("taro@acme.example.jp", "import")


def test_import_subscribers_checks_every_row_then_adds_once(services, tenant, clock):
    roster = Path(services.settings.home_dir) / "users.csv"
    roster.write_text(
        "company_number,user_id,email,display_name,role,needs_certificate\n"
        f"{COMPANY},hanako,hanako@acme.example.jp,Hanako,officer,yes\n"
        f"{COMPANY},jiro,jiro@acme.example.jp,,staff,no\n"
        f"{COMPANY},taro,taro@acme.example.jp,Taro,staff,\n"
        "9999,ghost,ghost@example.jp,,,\n"
    )
    code, _, err = run_cli(services, clock, "import", "subscribers", str(roster))
    assert code == 2
    assert "line 5: tenant 9999 is unknown" in err
    assert [s.user_id for s in services.directory.list_subscribers(COMPANY)] == ["taro"]

    roster.write_text("\n".join(roster.read_text().splitlines()[:-1]) + "\n")
    code, out, _ = run_cli(services, clock, "import", "subscribers", str(roster), "--dry-run")
    assert (code, out.strip()) == (0, "would add 2 subscriber(s); skipped 1 already known")
    assert len(services.directory.list_subscribers(COMPANY)) == 1
    for expected in ("added 2 subscriber(s)", "added 0 subscriber(s); skipped 3 already known"):
        code, out, _ = run_cli(services, clock, "import", "subscribers", str(roster))
        assert (code, out.strip().split(";")[0]) == (0, expected.split(";")[0])
    jiro = services.directory.show_subscriber(COMPANY, "jiro")
    assert (jiro.needs_certificate, services.directory.show_subscriber(COMPANY, "hanako").role) == (
        False,
        "officer",
    )


def test_an_expired_certificate_is_skipped_and_counted(services, tenant, old_ca, clock):
    path = leaf(old_ca, "taro", "/O=Acme KK/CN=taro", None, days=3)
    clock.set(load(path).not_valid_after_utc + timedelta(days=2))
    job = CertificateImport(services.sessions, services.clock, services.settings)
    report = job.run(read_certificates(path.read_bytes(), "taro.pem"), {}, OPERATOR)
    assert (report.imported, report.expired, report.errors) == ([], 1, [])


def test_renewing_an_imported_certificate_issues_one_of_certsvc_and_revokes_the_old(
    services, tenant, old_ca, clock
):
    path = leaf(old_ca, "taro", "/O=Acme KK/CN=taro", None)
    clock.set(after_issuance(load(path)))
    job = CertificateImport(services.sessions, services.clock, services.settings)
    old = job.run(read_certificates(path.read_bytes(), "taro.pem"), {}, OPERATOR).imported[0]
    renewed = services.lifecycle.renew(old, CsrKey(make_csr()), OPERATOR, revoke_old=RevokeOld.NOW)
    assert renewed.certificate.replaces == old
    assert services.lifecycle.show(old).state == "revoked"
    issuer = x509.load_pem_x509_certificate(
        renewed.certificate_pem.encode()
    ).issuer.rfc4514_string()
    assert "Old CA" not in issuer
