"""The helpdesk console in a real browser: Debian's chromium driven by Playwright.

certsvc runs as ``certsvc serve`` does (the subscriber pages' ``site`` fixture: uvicorn
in a thread, a ``FixedClock``, a real SMTP server). An operator is made as ``certsvc
operator add`` makes it; the authenticator code is computed from the enrolled secret
(pyotp). Screenshots go where the subscriber pages' go (``CERTSVC_SCREENSHOTS=1``: the
README's ``docs/screenshots/``).
"""

from __future__ import annotations

import pyotp

from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import CertState
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER
from tests.e2e import test_pages_browser as pages
from tests.e2e.test_pages_browser import Site, shot, submit_and_wait
from tests.keys import make_csr

pytestmark = pages.pytestmark
# The subscriber pages' fixtures: certsvc served on a free port, chromium, a fresh profile
# that fails the test on any request to another origin.
site = pages.site
chromium = pages.chromium
page = pages.page
PASSWORD = "first-Pass-1"
NEW_PASSWORD = "second-Pass-2"
OTHER, OTHER_USER = "2002", "jiro"


def enrol(site: Site, name: str, role: str = "helpdesk", company: str | None = None) -> pyotp.TOTP:
    """``certsvc operator add``: the account and the authenticator scanned from its URI."""
    uri = site.services.operators.add(name, role, company, PASSWORD, OPERATOR).uri
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    return totp


def code(site: Site, totp: pyotp.TOTP) -> str:
    return totp.at(site.clock.now())


def fill_sign_in(page, name: str, password: str, totp_code: str) -> None:
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.fill("input[name=totp]", totp_code)


def sign_in_first_time(site: Site, page, name: str, totp: pyotp.TOTP) -> None:
    """Sign in with the temporary password and a code, then choose the new password."""
    page.goto(f"{site.origin}/console")
    page.wait_for_selector("input[name=totp]")
    fill_sign_in(page, name, PASSWORD, code(site, totp))
    submit_and_wait(page, "input[name=new_password]")
    page.fill("input[name=current_password]", PASSWORD)
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=new_password_confirm]", NEW_PASSWORD)
    submit_and_wait(page, "#expiry-chart")


def with_certificates(site: Site) -> tuple[str, str]:
    """taro (1001) and jiro of another tenant (2002), each holding a certificate."""
    services = site.services
    services.directory.add_tenant(OTHER, "Beta KK", "admin@beta.example.jp", OPERATOR)
    services.directory.add_subscriber(
        NewSubscriber(OTHER, OTHER_USER, "jiro@beta.example.jp", "Jiro Suzuki"), OPERATOR
    )
    taro = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR).certificate
    jiro = services.lifecycle.issue(OTHER, OTHER_USER, CsrKey(make_csr()), OPERATOR).certificate
    return taro.serial or "", jiro.serial or ""


def test_sign_in_search_reissue_for_a_pc_change_and_the_audit_names_the_operator(site, page):
    taro, _ = with_certificates(site)
    totp = enrol(site, "hanako")
    page.goto(f"{site.origin}/console/login")
    shot(page, "console-login")
    sign_in_first_time(site, page, "hanako", totp)
    shot(page, "console-dashboard")
    assert page.text_content("#operator").startswith("hanako")
    page.goto(f"{site.origin}/console/search")
    page.fill("#q", USER)
    page.click("#search-submit")
    page.wait_for_selector("#results")
    shot(page, "console-search")
    page.click(f"#results a.serial[href$='{taro}']")
    page.wait_for_selector("#reissue-submit")
    assert page.text_content("#state") == "有効"
    page.select_option("#reissue-reason", "pc-change")
    page.select_option("#reissue-revoke_old", "on-pickup")
    page.fill("#reissue-ticket", "T-4711")
    shot(page, "console-certificate")
    page.click("#reissue-submit")
    page.wait_for_selector("#confirm")
    assert taro in page.text_content("#consequence")
    shot(page, "console-confirm")
    page.click("#confirm")
    page.wait_for_selector("#done")
    actors = page.locator("#audit td.actor").all_text_contents()
    tickets = page.locator("#audit td.ticket").all_text_contents()
    assert "console:hanako" in actors
    assert tickets[actors.index("console:hanako")] == "T-4711"
    assert len(site.mailed_links()) == 1  # the subscriber's pickup link for the new one
    assert site.services.lifecycle.show(taro).state is CertState.ISSUED  # until pickup


def test_three_wrong_codes_then_the_right_one_is_refused_too(site, page):
    totp = enrol(site, "hanako")
    page.goto(f"{site.origin}/console/login?lang=en")
    right = code(site, totp)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        fill_sign_in(page, "hanako", PASSWORD, wrong)
        submit_and_wait(page, "#form-error")
    fill_sign_in(page, "hanako", PASSWORD, right)
    alert = submit_and_wait(page, "#form-error")
    assert "locked" in alert.text_content()
    shot(page, "console-locked")
    assert page.url.endswith("/console/login")


def test_a_tenant_admin_cannot_see_another_tenants_certificate(site, page):
    taro, jiro = with_certificates(site)
    totp = enrol(site, "boss", "tenant-admin", COMPANY)
    sign_in_first_time(site, page, "boss", totp)
    page.goto(f"{site.origin}/console/search?q=KK")
    page.wait_for_selector("#results")
    found = page.locator("#results a.serial").all_text_contents()
    assert found == [taro]
    answer = page.goto(f"{site.origin}/console/certificates/{jiro}")
    assert answer is not None
    assert answer.status == 404
    assert page.is_visible("#not-found")


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site, page):
    taro, _ = with_certificates(site)
    totp = enrol(site, "hanako")
    sign_in_first_time(site, page, "hanako", totp)
    page.goto(f"{site.origin}/console/certificates/{taro}")
    page.evaluate(
        "document.querySelector('form[action$=\"/revoke\"] input[name=csrf_token]').value = 'x'"
    )
    page.select_option("#revoke-reason", "keyCompromise")
    page.fill("#revoke-ticket", "T-1")
    page.click("#revoke-submit")
    page.wait_for_selector("#refused")
    assert site.services.lifecycle.show(taro).state is CertState.ISSUED
