"""Renewal through a real nginx: the generated config routes ``/renew`` to certsvc with
the verified certificate (``$ssl_client_escaped_cert``) and the gateway token; the page
asks only for the password and answers the renewed PKCS#12, the old one left valid."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from certsvc.domain.certificates import CertState
from certsvc.domain.public_address import public_address
from tests.conftest import COMPANY, OPERATOR
from tests.e2e.conftest import (
    ClientCert,
    NginxUnderTest,
    Stack,
    needs_curl,
    needs_nginx,
    nginx_gateway,
)

pytestmark = [pytest.mark.e2e, needs_nginx, needs_curl]
PASSWORD, NUMBER = "Sakura-2026", "12345678"


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Iterator[NginxUnderTest]:
    with nginx_gateway(
        stack, "renew", "--allowlist", "auth-request", agent_options=("--no-allowlist",)
    ) as running:
        yield running


def browser(gateway: NginxUnderTest, client: ClientCert) -> httpx.Client:
    """A browser holding ``client``'s certificate, talking to the gateway."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test server's own certificate is self-made
    context.load_cert_chain(client.cert, client.key)
    return httpx.Client(
        base_url=f"https://127.0.0.1:{gateway.port}",
        verify=context,
        headers={"Accept-Language": "en"},
        timeout=20,
    )


def test_the_holder_renews_with_the_password_alone(stack: Stack, gateway: NginxUnderTest):
    dave = stack.clients["dave"]
    stack.services.accounts.set(COMPANY, "dave", PASSWORD, NUMBER, OPERATOR)
    alice_pem = stack.clients["alice"].cert.read_text()
    with browser(gateway, dave) as tab:
        # a client's own certificate header is overwritten by the gateway's
        page = tab.get("/renew", headers={"X-Client-Cert": alice_pem.replace("\n", "%0A")})
        assert page.status_code == 200, page.text
        assert f'<dd id="serial">{dave.serial}</dd>' in page.text
        assert 'name="challenge"' not in page.text  # the certificate stands in for it
        origin = public_address(stack.services.settings).origin
        assert f'href="{origin}/reset" id="reset-link"' in page.text  # not behind the gateway
        assert tab.get("/renew/static/certsvc.css").status_code == 200  # its assets too
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf_token": csrf.group(1), "password": PASSWORD, "delivery": "pkcs12"}
        answer = tab.post("/renew", data=form, files={"csr": ("", b"")})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-pkcs12"
    assert answer.headers["content-disposition"] == 'attachment; filename="dave.p12"'
    _key, renewed, _chain = pkcs12.load_key_and_certificates(answer.content, PASSWORD.encode())
    assert renewed is not None
    serial = format(renewed.serial_number, "X")
    assert serial.lstrip("0") != dave.serial.lstrip("0")
    old = stack.services.lifecycle.show(dave.serial)
    assert old.state is CertState.ISSUED  # left valid until its own expiry
    assert x509.load_pem_x509_certificate(dave.cert.read_bytes()).serial_number != (
        renewed.serial_number
    )


def test_a_wrong_password_is_refused_and_a_renewed_one_cannot_renew_again(
    stack: Stack, gateway: NginxUnderTest
):
    with browser(gateway, stack.clients["dave"]) as tab:
        page = tab.get("/renew")
    assert page.status_code == 409  # dave's certificate has its successor now
    assert 'id="renew-refused"' in page.text
    bob = stack.clients["bob"]
    stack.services.accounts.set(COMPANY, "bob", PASSWORD, NUMBER, OPERATOR)
    with browser(gateway, bob) as tab:
        page = tab.get("/renew")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf_token": csrf.group(1), "password": "Wrong-2026", "delivery": "pkcs12"}
        answer = tab.post("/renew", data=form, files={"csr": ("", b"")})
    assert answer.status_code == 401
    assert "The password is wrong" in answer.text
    assert stack.services.lifecycle.show(bob.serial).superseded_by is None


def test_certsvc_ignores_the_certificate_header_without_the_gateway_token(stack: Stack):
    pem = stack.clients["alice"].cert.read_text().replace("\n", "%0A")
    page = httpx.get(f"{stack.url}/renew", headers={"X-Client-Cert": pem, "Accept-Language": "en"})
    assert page.status_code == 403
    assert "only through the company gateway" in page.text
