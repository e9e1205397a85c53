"""The agent's checks: a feed that would lock clients out or let the wrong ones in is refused."""

from datetime import timedelta
from pathlib import Path

import pytest

from certsvc.agent.verify import FeedRefused, verify_allowlist, verify_crl_bundle
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.feed.crl import bundle_pem
from tests import timestamps
from tests.conftest import make_settings

SHA1, SHA256 = "a" * 40, "b" * 64


@pytest.fixture
def bundle(services):
    """The CRL bundle certsvc serves, and the chain a gateway trusts."""
    files = services.crls.current()
    return bundle_pem(files), services.adapter.trust_chain(), files


def test_a_bundle_covering_the_chain_verifies(services, bundle):
    pem, chain, files = bundle
    verified = verify_crl_bundle(pem, chain, services.clock.now(), {})
    issuers = [ca.subject.rfc4514_string() for ca in chain]
    assert sorted(verified.numbers) == sorted(issuers)
    assert set(verified.numbers.values()) == {1}
    assert verified.next_update == min(crl_file.next_update for crl_file in files)
    assert verified.pem.count(b"-----BEGIN X509 CRL-----") == len(chain)


def test_a_bundle_missing_the_root_crl_is_refused(services, bundle):
    _, chain, files = bundle
    issuing_only = bundle_pem([f for f in files if f.ca_name == "issuing"])
    with pytest.raises(FeedRefused, match=r"no CRL for .*Root CA.*refuse every client"):
        verify_crl_bundle(issuing_only, chain, services.clock.now(), {})


def test_a_crl_signed_by_another_ca_is_refused(tmp_path: Path, services, bundle):
    _, chain, _ = bundle
    other = Services(
        make_settings(tmp_path / "other", f"sqlite:///{tmp_path / 'o.db'}"),
        FixedClock(timestamps.issued),
    )
    other.initialise()
    forged = bundle_pem(other.crls.current())  # same CA names, other keys
    with pytest.raises(FeedRefused, match="signature does not verify"):
        verify_crl_bundle(forged, chain, services.clock.now(), {})
    other.engine.dispose()


def test_a_crl_not_yet_valid_is_refused(bundle):
    pem, chain, files = bundle
    before = files[0].this_update - timedelta(seconds=1)
    with pytest.raises(FeedRefused, match=r"thisUpdate .* is in the future"):
        verify_crl_bundle(pem, chain, before, {})


def test_an_expired_crl_is_refused(bundle):
    pem, chain, files = bundle
    with pytest.raises(FeedRefused, match="expired at"):
        verify_crl_bundle(pem, chain, files[0].next_update, {})


def test_a_crl_number_going_back_is_refused(services, bundle):
    pem, chain, _ = bundle
    held = {chain[0].subject.rfc4514_string(): 7}
    with pytest.raises(FeedRefused, match="number 1 is older than 7"):
        verify_crl_bundle(pem, chain, services.clock.now(), held)


def test_garbage_is_not_a_crl_bundle(services, bundle):
    _, chain, _ = bundle
    with pytest.raises(FeedRefused, match="no PEM CRL"):
        verify_crl_bundle(b"<html>oops</html>", chain, services.clock.now(), {})
    broken = b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
    with pytest.raises(FeedRefused, match="unreadable CRL"):
        verify_crl_bundle(broken, chain, services.clock.now(), {})


def allowlist(version: int, *lines: str) -> bytes:
    header = f"# certsvc allowlist version {version} generated_at 2026-11-26T01:00:00+00:00\n"
    return (header + "".join(f"{line}\n" for line in lines)).encode()


def test_an_allowlist_verifies_and_never_goes_back():
    body = allowlist(5, f"{SHA1} 1;", f"{'c' * 40} 1;")
    verified = verify_allowlist(body, "nginx-map", 5)
    assert verified.version == 5
    assert verified.patterns == (SHA1, "c" * 40)
    assert verified.body == body
    assert verify_allowlist(allowlist(0), "haproxy", None).patterns == ()
    with pytest.raises(FeedRefused, match="went back from version 6 to 5"):
        verify_allowlist(body, "nginx-map", 6)


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b"<html>502 Bad Gateway</html>\n", "nginx-map", "no version header"),
        (b"", "haproxy", "no version header"),
        (allowlist(1, f"{SHA1.upper()} 1;"), "nginx-map", "malformed nginx-map"),
        (allowlist(1, SHA256), "nginx-map", "malformed nginx-map"),
        (allowlist(1, f"{SHA1} 1;"), "haproxy", "malformed haproxy"),
        (allowlist(1, SHA256 + " x"), "haproxy", "malformed haproxy"),
    ],
)
def test_a_malformed_allowlist_is_refused(body, kind, message):
    with pytest.raises(FeedRefused, match=message):
        verify_allowlist(body, kind, None)
