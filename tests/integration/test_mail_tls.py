"""SMTP over STARTTLS and implicit TLS with AUTH, against a real aiosmtpd server."""

import ssl

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import make_mail_services
from tests.integration.test_nightly_life import add_subscriber, issue
from tests.smtp import LoopbackController, Recorder
from tests.tls import write_server_identity

PASSWORD = "mail-Passw0rd"


def server_certificate(directory):
    """A self-signed localhost certificate; the client trusts it via tls_ca_file."""
    cert_path, key_path = write_server_identity(directory)
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
        smtp_host="localhost",
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
        smtp_host="localhost",
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
