"""The pickup page over HTTP (no browser): form, CSRF, download, errors, lock, maintenance.

The browser flows are in tests/e2e/test_pages_browser.py; these pin what a tool that
drives the page relies on (field names, headers) and the refusals.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi.testclient import TestClient

from certsvc.access.credentials import ResetTarget, challenge_answer
from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.config import Settings
from certsvc.directory import NewSubscriber
from tests import timestamps
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.integration.api.conftest import CHEAP_ARGON2, NUMBER, PASSWORD, bearer
from tests.integration.api.pickup_helpers import last_link, reset_mails, temporaries
from tests.integration.api.test_pickup import order_pickup
from tests.keys import make_csr


def form_of(api: TestClient, token: str) -> tuple[str, int]:
    """GET the page: its CSRF token and the challenge position it names."""
    page = api.get(f"/pickup/{token}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    position = re.search(r'id="challenge-position">(\d)<', page.text)
    assert csrf is not None
    assert position is not None
    return csrf.group(1), int(position.group(1))


def submit(api: TestClient, token: str, *, digits: str | None = None, **fields: str):
    csrf, position = form_of(api, token)
    data = {
        "csrf_token": csrf,
        "user_id": USER,
        "password": PASSWORD,
        "challenge": digits or challenge_answer(NUMBER, position),
        "delivery": "pkcs12",
        **fields,
    }
    return api.post(f"/pickup/{token}", data=data)


@pytest.fixture
def link(api, tokens, services) -> str:
    order_pickup(api, tokens["helpdesk"])
    return last_link(services)


def test_the_page_names_company_user_and_link_expiry_and_has_the_pinned_fields(api, link):
    page = api.get(f"/pickup/{link}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert "Acme KK (1001)" in page.text
    assert '<dd id="user">taro</dd>' in page.text
    assert "10 December 2026" in page.text  # 14 days after 26 November
    for name in ("user_id", "password", "challenge", "csrf_token"):
        assert f'name="{name}"' in page.text
    assert 'name="delivery" value="pkcs12"' in page.text
    assert 'name="delivery" value="csr"' in page.text
    assert 'type="file" id="csr" name="csr"' in page.text
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "<script>" not in page.text  # scripts only from /static


def test_japanese_is_the_default_and_the_switch_sticks(api, link):
    assert '<html lang="ja">' in api.get(f"/pickup/{link}").text
    english = api.get(f"/pickup/{link}?lang=en", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in english.text
    assert '<html lang="en">' in api.get(f"/pickup/{link}").text  # the cookie remembers


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(api, link, services):
    position = form_of(api, link)[1]
    data = {
        "user_id": USER,
        "password": PASSWORD,
        "challenge": challenge_answer(NUMBER, position),
        "delivery": "pkcs12",
    }
    refused = api.post(f"/pickup/{link}", data=data)
    assert refused.status_code == 403
    assert 'id="refused"' in refused.text
    forged = api.post(f"/pickup/{link}", data={**data, "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert api.get(f"/api/v1/pickup/{link}").status_code == 200  # still unused


def test_pkcs12_is_a_download_named_after_the_user(api, link, services):
    answer = submit(api, link)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-pkcs12"
    assert answer.headers["content-disposition"] == 'attachment; filename="taro.p12"'
    assert answer.headers["cache-control"] == "no-store"
    key, certificate, chain = pkcs12.load_key_and_certificates(answer.content, PASSWORD.encode())
    assert key is not None
    assert certificate is not None
    assert chain
    assert api.get(f"/pickup/{link}").status_code == 404  # spent


def test_a_used_link_shows_how_to_get_a_new_one(api, link):
    assert submit(api, link).status_code == 200
    gone = api.get(f"/pickup/{link}", headers={"Accept-Language": "en"})
    assert gone.status_code == 404
    assert "cannot be used any more" in gone.text
    assert "request a new pickup" in gone.text


def test_csr_delivery_offers_the_der_certificate_and_the_chain(api, link):
    csr, position = form_of(api, link)
    data = {
        "csrf_token": csr,
        "user_id": USER,
        "password": PASSWORD,
        "challenge": challenge_answer(NUMBER, position),
        "delivery": "csr",
    }
    files = {"csr": ("request.csr", make_csr(), "application/pkcs10")}
    answer = api.post(f"/pickup/{link}", data=data, files=files)
    assert answer.status_code == 200, answer.text
    assert 'download="taro.cer" href="data:application/pkix-cert;base64,' in answer.text
    assert 'download="taro-chain.p7b"' in answer.text
    assert 'id="install-steps"' in answer.text


def test_missing_fields_are_named_beside_them_with_focus_on_the_first(api, link):
    csrf, _ = form_of(api, link)
    answer = api.post(f"/pickup/{link}", data={"csrf_token": csrf, "challenge": "12"})
    assert answer.status_code == 422
    assert 'id="user_id-error"' in answer.text
    assert 'id="challenge-error"' in answer.text
    assert re.search(r'id="user_id"[^>]*aria-invalid="true"[^>]*autofocus', answer.text)


def test_three_wrong_challenges_lock_with_when_it_lifts(api, link):
    api.get(f"/pickup/{link}?lang=en")  # 0000 is no window of 12345678: always wrong
    answers = [submit(api, link, digits="0000") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert answers[0].text.count("are wrong, or the") == 1
    assert 'id="locked"' not in answers[1].text
    assert 'id="locked"' in answers[2].text
    assert "27 November 2026, 00:00" in answers[2].text
    right = submit(api, link)
    assert right.status_code == 401  # locked: even the right answer fails


def test_a_temporary_password_must_be_changed_on_the_page(api, link, services):
    services.accounts.reset(COMPANY, USER, OPERATOR, helpdesk=False, what=ResetTarget.PASSWORD)
    temporary = temporaries(reset_mails(services)[-1])["password"]
    first = submit(api, link, password=temporary)
    assert first.status_code == 422
    assert 'name="new_password"' in first.text
    assert 'name="new_password_confirm"' in first.text
    weak = submit(
        api, link, password=temporary, new_password="abcdefgh", new_password_confirm="abcdefgh"
    )
    assert weak.status_code == 422
    assert 'id="new_password-error"' in weak.text
    done = submit(
        api,
        link,
        password=temporary,
        new_password="Momiji-2027",
        new_password_confirm="Momiji-2027",
    )
    assert done.status_code == 200, done.text
    assert pkcs12.load_key_and_certificates(done.content, b"Momiji-2027")[1] is not None


def test_the_maintenance_window_is_a_page_that_says_until_when(api, link, clock):
    clock.set(timestamps.maintenance_opens)
    page = api.get(f"/pickup/{link}", headers={"Accept-Language": "en"})
    assert page.status_code == 503
    assert "29 November 2026, 08:00" in page.text
    assert int(page.headers["retry-after"]) == 13 * 3600
    post = api.post(f"/pickup/{link}", data={"user_id": USER})
    assert post.status_code == 503
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("compat", ["modern", "legacy"])
def test_both_pkcs12_formats_open_with_openssl(
    tmp_path: Path, database_url: str, clock: FixedClock, compat: str
):
    settings: Settings = make_settings(
        tmp_path / "home", database_url, credentials=CHEAP_ARGON2, pickup={"pkcs12_compat": compat}
    )
    services = Services(settings, clock)
    services.initialise()
    try:
        services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
        _subscriber(services)
        api = TestClient(create_app(services))
        helpdesk = services.tokens.create("helpdesk", "hd")
        order = {"company_number": COMPANY, "user_id": USER, "pickup": True, "ticket": "T"}
        assert (
            api.post("/api/v1/certificates", json=order, headers=bearer(helpdesk)).status_code
            == 202
        )
        answer = submit(api, last_link(services))
        assert answer.status_code == 200, answer.text
    finally:
        services.close()
    p12 = tmp_path / "taro.p12"
    p12.write_bytes(answer.content)
    for legacy in (False, True):  # 3DES is in OpenSSL 3's default provider, RC2 is not
        info = _openssl_info(p12, legacy=legacy)
        assert info.returncode == 0, info.stderr
        if compat == "modern":
            assert "MAC: sha256" in info.stderr
            assert "PBES2, PBKDF2, AES-256-CBC" in info.stderr
        else:
            assert "MAC: sha1" in info.stderr
            assert "pbeWithSHA1And3-KeyTripleDES-CBC" in info.stderr
            assert "AES" not in info.stderr


def _subscriber(services: Services) -> None:
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "Taro Yamada"), OPERATOR
    )
    services.accounts.set(COMPANY, USER, PASSWORD, NUMBER, OPERATOR)


def _openssl_info(p12: Path, *, legacy: bool) -> subprocess.CompletedProcess[str]:
    command = ["openssl", "pkcs12", "-info", "-in", str(p12), "-noout"]
    command += ["-passin", f"pass:{PASSWORD}"] + (["-legacy"] if legacy else [])
    return subprocess.run(command, capture_output=True, text=True, check=False)
