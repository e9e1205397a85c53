"""The self-service reset page over HTTP: fields, CSRF, the one answer, the mail.

The browser flow (reset while locked, the mail, the forced new password) is in
tests/e2e/test_pages_browser.py.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from certsvc.access.accounts import Login
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.directory import get_subscriber
from certsvc.domain.public_address import public_address
from certsvc.errors import AuthenticationFailed
from tests import timestamps
from tests.conftest import COMPANY, USER
from tests.integration.api.pickup_helpers import last_link, reset_mails, temporaries
from tests.integration.api.test_pickup import order_pickup

EMAIL = "taro@acme.example.jp"


def csrf_of(api: TestClient) -> str:
    page = api.get("/reset")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def post_reset(api: TestClient, **fields: str):
    data = {
        "csrf_token": csrf_of(api),
        "company_number": COMPANY,
        "user_id": USER,
        "email": EMAIL,
        **fields,
    }
    return api.post("/reset", data=data, headers={"Accept-Language": "en"})


def body_of(html: str) -> str:
    """The page's main content without the per-browser CSRF token."""
    return re.sub(r'value="[^"]{43}"', "", html.split('<main id="main"', 1)[1])


def test_the_form_has_the_pinned_fields_and_password_is_the_default(api, tenants):
    page = api.get("/reset", headers={"Accept-Language": "en"})
    for name in ("company_number", "user_id", "email", "csrf_token"):
        assert f'name="{name}"' in page.text
    for value in ("password", "registration_number", "both"):
        assert f'name="reset" value="{value}"' in page.text
    assert re.search(r'value="password" checked', page.text)
    assert page.headers["cache-control"] == "no-store"
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]


def test_a_right_address_resets_the_password_and_mails_it(api, tenants, services: Services):
    answer = post_reset(api, email="Taro@Acme.example.jp")  # case does not matter
    assert answer.status_code == 200
    assert 'id="reset-sent"' in answer.text
    assert "60 minutes" in answer.text
    (mail,) = reset_mails(services)
    assert set(temporaries(mail)) == {"password"}
    assert temporaries(mail)["password"] not in answer.text  # only the mail carries it
    assert f"{public_address(services.settings).origin}/reset" in mail


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("registration_number", {"number"}), ("both", {"password", "number"})],
)
def test_what_to_reset_is_the_subscribers_choice(api, tenants, services, choice, expected):
    assert post_reset(api, reset=choice).status_code == 200
    (mail,) = reset_mails(services)
    assert set(temporaries(mail)) == expected


def test_the_answer_is_the_same_whatever_happened(api, tenants, services):
    answers = [
        post_reset(api),
        post_reset(api, email="someone@else.example.jp"),
        post_reset(api, user_id="nobody"),
        post_reset(api, company_number="9999"),
    ]
    assert {answer.status_code for answer in answers} == {200}
    assert len({body_of(answer.text) for answer in answers}) == 1
    assert len(reset_mails(services)) == 1  # only the matching one reset anything


def test_the_reset_works_while_locked(api, tenants, services: Services):
    subscriber_id = _subscriber_id(services)
    _lock(services)
    assert services.accounts.locked_until(subscriber_id) is not None
    assert post_reset(api).status_code == 200
    assert services.accounts.locked_until(subscriber_id) is None
    assert len(reset_mails(services)) == 1


def test_malformed_input_is_named_beside_each_field(api, tenants, services):
    answer = post_reset(api, company_number="", user_id="a b", email="not-an-address", reset="x")
    assert answer.status_code == 422
    assert 'id="company_number-error">Enter this field.' in answer.text
    assert 'id="user_id-error">Enter the user ID in half-width' in answer.text
    assert 'id="email-error">Enter an e-mail address' in answer.text
    assert 'id="reset-error">Choose what to reset.' in answer.text
    assert re.search(r'id="company_number"[^>]*autofocus', answer.text)  # focus: first error
    assert 'value="not-an-address"' in answer.text  # what was typed stays
    assert reset_mails(services) == []


def test_a_post_without_the_csrf_token_is_refused_and_resets_nothing(api, tenants, services):
    csrf_of(api)  # the cookie is there, the field is not
    data = {"company_number": COMPANY, "user_id": USER, "email": EMAIL, "reset": "password"}
    answer = api.post("/reset", data=data)
    assert answer.status_code == 403
    assert 'id="refused"' in answer.text
    assert reset_mails(services) == []


def test_the_maintenance_window_answers_the_reset_with_its_page(api, tenants, clock: FixedClock):
    clock.set(timestamps.maintenance_opens)
    assert api.get("/reset").status_code == 503
    assert api.post("/reset", data={}).status_code == 503


def test_the_lock_message_links_to_the_reset_page(api, tokens, services):
    order_pickup(api, tokens["helpdesk"])
    _lock(services)
    page = api.get(f"/pickup/{last_link(services)}")
    assert re.search(r'id="locked".*href="/reset"', page.text, re.S)


def _subscriber_id(services: Services) -> int:
    with services.sessions() as session:
        return get_subscriber(session, COMPANY, USER).id


def _lock(services: Services) -> None:
    subscriber_id = _subscriber_id(services)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            services.accounts.authenticate(subscriber_id, Login(USER, "wrong-pass1", "0000"))
