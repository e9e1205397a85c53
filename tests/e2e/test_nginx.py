"""A real nginx in front of certsvc: CRLs via the agent, the allowlist map, auth_request, OCSP.

Three private nginx instances share one certsvc, each showing one mechanism: ``crl``
(CRL bundle + allowlist map, kept fresh by ``certsvc gateway-agent``), ``hook``
(``auth_request`` to ``/gateway/check``) and ``ocsp`` (``ssl_ocsp`` to certsvc's
responder). Tests run in file order; the last ones move certsvc's clock two years on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509

from tests.e2e.conftest import NginxUnderTest, Stack, needs_curl, needs_nginx, nginx_gateway

pytestmark = [pytest.mark.e2e, needs_nginx, needs_curl]


@pytest.fixture(scope="module")
def crl_gateway(stack: Stack) -> Iterator[NginxUnderTest]:
    with nginx_gateway(stack, "crl", "--allowlist", "map") as gateway:
        yield gateway


@pytest.fixture(scope="module")
def hook_gateway(stack: Stack) -> Iterator[NginxUnderTest]:
    with nginx_gateway(
        stack, "hook", "--allowlist", "auth-request", agent_options=("--no-allowlist",)
    ) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def tokenless_gateway(stack: Stack) -> Iterator[NginxUnderTest]:
    with nginx_gateway(
        stack,
        "tokenless",
        "--allowlist",
        "auth-request",
        agent_options=("--no-allowlist",),
        hook_token=False,
    ) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def ocsp_gateway(stack: Stack) -> Iterator[NginxUnderTest]:
    with nginx_gateway(
        stack, "ocsp", "--allowlist", "none", "--ocsp", agent_options=("--no-allowlist",)
    ) as gateway:
        yield gateway


def test_valid_certificates_get_200_and_no_certificate_gets_400(
    stack: Stack, crl_gateway: NginxUnderTest, hook_gateway: NginxUnderTest
):
    for gateway in (crl_gateway, hook_gateway):
        assert gateway.status(stack.clients["alice"]) == 200
        assert gateway.status(stack.clients["bob"]) == 200
        assert gateway.status(None) == 400


def test_the_hook_sends_the_gateway_token_from_the_generated_config(
    stack: Stack, hook_gateway: NginxUnderTest
):
    config = (hook_gateway.directory / "nginx.conf").read_text()
    assert f'proxy_set_header Authorization "Bearer {stack.token}";' in config
    assert "chmod 0600" in config
    assert hook_gateway.status(stack.clients["bob"]) == 200  # certsvc took the token


def test_without_a_token_the_hook_denies_every_client(
    stack: Stack, tokenless_gateway: NginxUnderTest
):
    config = (tokenless_gateway.directory / "nginx.conf").read_text()
    assert 'proxy_set_header Authorization "";' in config
    for user_id in ("alice", "bob"):
        assert tokenless_gateway.status(stack.clients[user_id]) == 401  # certsvc's 401, passed on


def test_revoked_certificate_gets_400_after_the_agent_refresh(
    stack: Stack, crl_gateway: NginxUnderTest
):
    alice, bob = stack.clients["alice"], stack.clients["bob"]
    stack.revoke(alice)
    assert crl_gateway.status(alice) == 200  # nginx still holds the old CRL: the agent's job

    refreshed = crl_gateway.agent_cli()

    assert refreshed.exit_code == 0, refreshed.output + refreshed.log
    assert "crls: updated" in refreshed.output
    assert "gateway: nginx reloaded" in refreshed.output
    assert crl_gateway.status(alice) == 400
    assert crl_gateway.status(bob) == 200
    assert "certificate revoked" in crl_gateway.error_log()


def test_an_unchanged_feed_costs_no_reload(crl_gateway: NginxUnderTest):
    again = crl_gateway.agent_once()
    assert again.ok, again
    assert (again.crls, again.allowlist, again.gateway) == ("unchanged", "unchanged", "unchanged")


def test_ocsp_refuses_a_revoked_certificate_with_400(stack: Stack, ocsp_gateway: NginxUnderTest):
    dave, bob = stack.clients["dave"], stack.clients["bob"]
    assert ocsp_gateway.status(bob) == 200
    stack.revoke(dave)
    assert ocsp_gateway.status(dave) == 400
    assert "certificate revoked" in ocsp_gateway.error_log()
    # No agent ran for this gateway since: the CRLs it holds do not list dave, OCSP did it.
    held = (ocsp_gateway.directory / "crl-bundle.pem").read_bytes()
    blocks = held.split(b"-----END X509 CRL-----")[:-1]
    crls = [x509.load_pem_x509_crl(block + b"-----END X509 CRL-----\n") for block in blocks]
    assert len(crls) == 2
    assert all(
        crl.get_revoked_certificate_by_serial_number(int(dave.serial, 16)) is None for crl in crls
    )


def test_past_expiry_date_by_certsvc_clock_auth_request_gives_403(
    stack: Stack, hook_gateway: NginxUnderTest
):
    carol, bob = stack.clients["carol"], stack.clients["bob"]
    stack.move_clock(carol.invalid_from + timedelta(minutes=1))
    # nginx's own clock still accepts carol's certificate (notAfter is two years away) ...
    assert hook_gateway.status(carol) == 403
    # ... while bob, issued three days later, is still within his validity.
    assert hook_gateway.status(bob) == 200


def test_past_expiry_date_leaves_the_map_while_a_future_crl_is_refused(
    stack: Stack, crl_gateway: NginxUnderTest
):
    carol, bob = stack.clients["carol"], stack.clients["bob"]
    assert stack.clock.now() > carol.invalid_from  # set by the previous test
    assert crl_gateway.status(carol) == 200

    refreshed = crl_gateway.agent_once()

    # certsvc, two years ahead, publishes a CRL whose thisUpdate is in the gateway's
    # future: loading it would lock everybody out, so the agent keeps the last good one.
    assert not refreshed.ok
    assert refreshed.crls.startswith("refused:")
    assert "is in the future" in refreshed.crls
    assert refreshed.allowlist == "updated"
    assert refreshed.gateway == "nginx reloaded"
    assert crl_gateway.status(carol) == 403
    assert crl_gateway.status(bob) == 200
