"""SMTP over STARTTLS and implicit TLS with AUTH, against a real aiosmtpd server."""

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import make_mail_services
from tests.integration.test_nightly_life import add_subscriber, issue
from tests.smtp import LoopbackController, Recorder

PASSWORD = "mail-Passw0rd"


def server_certificate(directory):
    """A self-signed certificate for 127.0.0.1; the client trusts it via tls_ca_file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = datetime.now(UTC)  # real time: the TLS stack checks it, not the domain clock
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context


class Authenticator:
    def __init__(self):
        self.logins = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append(auth_data.login.decode())
        return AuthResult(success=auth_data.password.decode() == PASSWORD)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_over_tls_with_auth_and_the_password_from_the_environment(
    security, tmp_path, database_url, clock, monkeypatch
):
    cert_path, context = server_certificate(tmp_path)
    recorder, authenticator = Recorder(), Authenticator()
    tls = {"tls_context": context, "require_starttls": True}
    # aiosmtpd only sees STARTTLS as TLS; on an implicit-TLS socket it must be told.
    implicit = {"ssl_context": context, "auth_require_tls": False}
    controller = LoopbackController(
        recorder,
        authenticator=authenticator,
        auth_required=True,
        **(tls if security == "starttls" else implicit),
    )
    controller.start()
    monkeypatch.setenv("CERTSVC_MAIL_PASSWORD", PASSWORD)
    services = make_mail_services(
        tmp_path / "h",
        database_url,
        clock,
        smtp_port=controller.port,
        security=security,
        username="certsvc",
        tls_ca_file=str(cert_path),
    )
    try:
        add_subscriber(services)
        issue(services)
        assert services.outbox.drain().sent == 1
        assert authenticator.logins == ["certsvc"]
        assert len(recorder.messages) == 1
    finally:
        controller.stop()
        services.engine.dispose()


def test_wrong_password_is_retried_not_failed(tmp_path, database_url, clock):
    cert_path, context = server_certificate(tmp_path)
    recorder = Recorder()
    controller = LoopbackController(
        recorder,
        authenticator=Authenticator(),
        auth_required=True,
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    services = make_mail_services(
        tmp_path / "h",
        database_url,
        clock,
        smtp_port=controller.port,
        security="starttls",
        username="certsvc",
        password="wrong-password",
        tls_ca_file=str(cert_path),
    )
    try:
        add_subscriber(services)
        issue(services)
        report = services.outbox.drain()
        assert (report.sent, report.retried, report.failed) == (0, 1, 0)
        assert recorder.messages == []
    finally:
        controller.stop()
        services.engine.dispose()
