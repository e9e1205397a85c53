"""The subscriber pages in a real browser: Debian's chromium driven by Playwright.

certsvc runs as ``certsvc serve`` does (uvicorn in a thread, its clock a ``FixedClock``),
mails go to a real SMTP server, and the subscriber's steps are the browser's: open the
mailed link, fill the form, download the file. The screenshots land in
``docs/screenshots/`` (the README shows them).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn

from certsvc.access.credentials import ResetTarget, challenge_answer
from certsvc.api.server import server_config
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import CertState
from certsvc.lifecycle.operations import CsrKey
from certsvc.lifecycle.pickup import Deferred
from tests import timestamps
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.e2e.conftest import free_port, wait_until
from tests.integration.api.conftest import CHEAP_ARGON2, NUMBER, PASSWORD
from tests.integration.test_nightly_life import night
from tests.keys import make_csr
from tests.smtp import LoopbackController, Recorder

CHROMIUM = Path("/usr/bin/chromium")
README_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The README's screenshots are rewritten only when asked (CERTSVC_SCREENSHOTS=1), so a test
# run leaves the tree clean; otherwise they go to a scratch folder (still taken and saved).
SHOTS = (
    README_SHOTS
    if os.environ.get("CERTSVC_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "certsvc-screenshots"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def off_loop(work: Callable[[], object]) -> None:
    """Run ``work`` in a thread: Playwright's sync API holds this thread's event loop, and
    the mail sender runs its own (``asyncio.run``)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


@dataclass
class Site:
    services: Services
    clock: FixedClock
    recorder: Recorder
    origin: str

    def mailed_links(self) -> list[str]:
        """Every certsvc link in the mails received so far (plain-text part), in order."""
        off_loop(self.services.outbox.drain)
        found: list[str] = []
        for message in self.recorder.messages:
            body = message.get_body(("plain",))
            assert body is not None
            text = body.get_content()
            found += re.findall(re.escape(self.origin) + r"/pickup/[\w-]{43}", text)
        return found

    def mailed_temporary_password(self) -> str:
        """The temporary password in the newest mail received (plain-text part)."""
        off_loop(self.services.outbox.drain)
        body = self.recorder.messages[-1].get_body(("plain",))
        assert body is not None
        found = re.search(r"(?:仮パスワード|Temporary password):\s*(\S+)", body.get_content())
        assert found, "the reset mail carries the temporary password"
        return found.group(1)


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    """certsvc on a free port whose [pickup] link_base_url is that port's origin."""
    recorder = Recorder()
    smtp = LoopbackController(recorder)
    smtp.start()
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path / "home",
        database_url,
        credentials=CHEAP_ARGON2,
        pickup={"link_base_url": f"{origin}/pickup"},
        mail={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "timeout_seconds": 5},
    )
    clock = FixedClock(timestamps.issued)
    services = Services(settings, clock)
    services.initialise()
    services.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "山田 太郎"), OPERATOR
    )
    services.accounts.set(COMPANY, USER, PASSWORD, NUMBER, OPERATOR)
    server = uvicorn.Server(server_config(services, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="certsvc-pages", daemon=True)
    thread.start()
    wait_until(lambda: server.started, "certsvc HTTP")
    try:
        yield Site(services, clock, recorder, origin)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        smtp.stop()
        services.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, site: Site) -> Iterator[object]:
    """A fresh browser profile (Japanese first); every request it makes is recorded."""
    context = chromium.new_context(
        accept_downloads=True, locale="ja-JP", viewport={"width": 900, "height": 760}
    )
    tab = context.new_page()
    seen: list[str] = []
    tab.on("request", lambda request: seen.append(request.url))
    yield tab
    foreign = [url for url in seen if not url.startswith((site.origin, "data:", "blob:"))]
    assert foreign == []  # every page loads only from certsvc itself
    context.close()


def order_pickup(site: Site) -> str:
    site.services.pickups.defer(COMPANY, USER, Deferred("issue"), OPERATOR)
    return site.mailed_links()[-1]


def log_in(page, password: str = PASSWORD, digits: str | None = None) -> None:
    position = int(page.text_content("#challenge-position"))
    page.fill("input[name=user_id]", USER)
    page.fill("input[name=password]", password)
    page.fill("input[name=challenge]", digits or challenge_answer(NUMBER, position))


def submit_and_wait(page, selector: str):
    """Submit, then wait for ``selector`` on the answer (not on the page it replaces)."""
    page.evaluate("document.body.dataset.before = 'submit'")
    page.click("#submit")
    return page.wait_for_selector(f"body:not([data-before]) {selector}")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def openssl_reads(p12: Path, password: str) -> str:
    command = ["openssl", "pkcs12", "-info", "-noout", "-in", str(p12)]
    result = subprocess.run(
        [*command, "-passin", f"pass:{password}"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_mailed_link_form_download_then_install_steps(site, page, tmp_path):
    link = order_pickup(site)
    page.goto(link)
    assert page.text_content("#user") == USER
    assert "Acme KK" in page.text_content("#company")
    shot(page, "pickup-ja")
    log_in(page)
    with page.expect_download() as download:
        page.click("#submit")
    assert download.value.suggested_filename == "taro.p12"
    saved = tmp_path / "taro.p12"
    download.value.save_as(saved)
    assert "MAC: sha256" in openssl_reads(saved, PASSWORD)
    page.wait_for_url("**/pickup/install?renewal=0")
    assert page.is_visible("#install-steps")
    assert "個人" in page.text_content("#install-steps")
    shot(page, "install-ja")
    page.goto(link)
    assert page.is_visible("#gone")  # single use
    shot(page, "link-used-ja")


def test_english_page_three_wrong_challenges_then_the_lock(site, page):
    page.goto(order_pickup(site))
    page.click("#lang-en")
    assert page.get_attribute("html", "lang") == "en"
    shot(page, "pickup-en")
    for attempt in range(3):
        log_in(page, digits="0000")
        submit_and_wait(page, "#form-error")
        assert page.is_visible("#locked") == (attempt == 2)
    assert "27 November 2026, 00:00" in page.text_content("#locked")
    shot(page, "locked-en")


def test_a_temporary_password_is_replaced_on_the_page(site, page, tmp_path):
    site.services.accounts.reset(COMPANY, USER, OPERATOR, helpdesk=False, what=ResetTarget.PASSWORD)
    temporary = site.mailed_temporary_password()
    page.goto(order_pickup(site))
    log_in(page, temporary)
    submit_and_wait(page, "input[name=new_password]")
    log_in(page, temporary)
    page.fill("input[name=new_password]", "onlyletters")
    page.fill("input[name=new_password_confirm]", "onlyletters")
    error = submit_and_wait(page, "#new_password-error")
    assert "2種類以上" in error.text_content()
    assert page.evaluate("document.activeElement.name") == "new_password"
    shot(page, "new-password-ja")
    log_in(page, temporary)
    page.fill("input[name=new_password]", "Momiji-2027")
    page.fill("input[name=new_password_confirm]", "Momiji-2027")
    with page.expect_download() as download:
        page.click("#submit")
    saved = tmp_path / "new.p12"
    download.value.save_as(saved)
    openssl_reads(saved, "Momiji-2027")


def test_renewal_link_from_a_reminder_renews_and_says_delete_the_old(site, page, tmp_path):
    old = site.services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR).certificate
    off_loop(lambda: night(site.services, timestamps.expiry_date - timedelta(days=14)))
    (link,) = site.mailed_links()
    # two years on, the letter's password has expired: the tenant registered a new one
    site.services.accounts.set(COMPANY, USER, "Kaede-2028", NUMBER, OPERATOR)
    page.goto(link)
    assert "更新" in page.text_content("h1")
    log_in(page, "Kaede-2028")
    with page.expect_download(timeout=10000) as download:
        page.click("#submit")
    saved = tmp_path / "renewed.p12"
    download.value.save_as(saved)
    openssl_reads(saved, "Kaede-2028")
    page.wait_for_url("**/pickup/install?renewal=1")
    assert page.is_visible("#delete-old")
    shot(page, "renewed-ja")
    assert site.services.lifecycle.show(old.serial).state is CertState.ISSUED  # valid until expiry


def test_the_maintenance_window_is_a_page_saying_until_when(site, page):
    link = order_pickup(site)
    site.clock.set(timestamps.maintenance_opens)
    page.goto(link)
    assert "2026年11月29日 08:00" in page.text_content("main")
    shot(page, "maintenance-ja")


def test_every_form_refuses_a_missing_csrf_token(site, page):
    page.goto(order_pickup(site))
    log_in(page)
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    submit_and_wait(page, "#refused")
    page.goto(site.mailed_links()[-1])
    assert page.is_visible("#challenge-position")  # nothing was used up


def test_reset_while_locked_then_the_mailed_temporary_password_must_be_replaced(site, page):
    link = order_pickup(site)
    page.goto(link)
    for _ in range(3):
        log_in(page, digits="0000")
        submit_and_wait(page, "#form-error")
    page.click("#locked-reset")  # the lock message links to the reset page
    page.wait_for_url("**/reset")
    page.fill("input[name=company_number]", COMPANY)
    page.fill("input[name=user_id]", USER)
    page.fill("input[name=email]", "taro@acme.example.jp")
    assert page.is_checked("#reset-password")  # the default choice
    shot(page, "reset-ja")
    submit_and_wait(page, "#reset-sent")
    shot(page, "reset-sent-ja")
    temporary = site.mailed_temporary_password()
    page.goto(link)
    assert not page.is_visible("#locked")  # the reset lifted the lock
    log_in(page, temporary)
    submit_and_wait(page, "input[name=new_password]")
    assert "8〜32文字" in page.text_content("#new_password-hint")  # the rules beside the field
    for weak, rule in (("Ab-1", "8〜32文字"), ("onlyletters", "2種類以上")):
        log_in(page, temporary)
        page.fill("input[name=new_password]", weak)
        page.fill("input[name=new_password_confirm]", weak)
        assert rule in submit_and_wait(page, "#new_password-error").text_content()
    log_in(page, temporary)
    page.fill("input[name=new_password]", "Kaede-2027")
    page.fill("input[name=new_password_confirm]", "Kaede-2027")
    with page.expect_download() as download:
        page.click("#submit")
    assert download.value.suggested_filename == "taro.p12"


def test_renewal_through_the_gateway_asks_only_for_the_password(site, chromium, tmp_path):
    """The gateway's two headers, set on every request as nginx sets them (the real nginx
    route is tests/e2e/test_renew_gateway.py)."""
    issued = site.services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    token = site.services.tokens.create("gateway", "browser-gateway")
    headers = {
        "Authorization": f"Bearer {token}",
        "X-Client-Cert": quote(issued.certificate_pem, safe=""),
    }
    context = chromium.new_context(
        accept_downloads=True,
        locale="ja-JP",
        viewport={"width": 900, "height": 760},
        extra_http_headers=headers,
    )
    tab = context.new_page()
    try:
        tab.goto(f"{site.origin}/renew")
        assert tab.text_content("#user") == USER
        assert not tab.is_visible("input[name=challenge]")
        shot(tab, "renew-ja")
        tab.fill("input[name=password]", PASSWORD)
        with tab.expect_download() as download:
            tab.click("#submit")
        saved = tmp_path / "renewed.p12"
        download.value.save_as(saved)
        openssl_reads(saved, PASSWORD)
        tab.wait_for_url("**/renew/installed")
        assert tab.is_visible("#delete-old")
    finally:
        context.close()
    old = site.services.lifecycle.show(issued.certificate.serial or "")
    assert old.state is CertState.ISSUED
    assert old.superseded_by is not None
