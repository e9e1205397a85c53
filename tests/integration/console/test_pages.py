"""The console's pages over HTTP (in-process): sign-in with password and TOTP, the first
password change, the session cookie and its timeouts, the lock, search, tenant isolation,
the certificate, subscriber and tenant actions with their ticket, confirmation, audit,
CSRF and maintenance refusals, and the dashboard's figures."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import CertState
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import AuditEvent, Certificate, OutboxMessage, Pickup
from certsvc.web.console.session import COOKIE
from certsvc.web.csrf import COOKIE as CSRF_COOKIE
from tests.conftest import COMPANY, OPERATOR, USER
from tests.integration.console.conftest import NEW_PASSWORD, OTHER, PASSWORD, Desk
from tests.keys import make_csr
from tests.timestamps import expiry_evening, maintenance_opens

STEP = timedelta(seconds=30)
OTHER_USER = "jiro"


@pytest.fixture
def people(services: Services, tenants: tuple[str, str]) -> dict[str, str]:
    """taro of 1001 and jiro of 2002, each with a certificate; their serials."""
    directory = services.directory
    directory.add_subscriber(
        NewSubscriber(COMPANY, USER, "taro@acme.example.jp", "Taro Yamada"), OPERATOR
    )
    directory.add_subscriber(
        NewSubscriber(OTHER, OTHER_USER, "jiro@beta.example.jp", "Jiro Suzuki"), OPERATOR
    )
    services.accounts.set(COMPANY, USER, "Sakura-2026", "12345678", OPERATOR)
    taro = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    jiro = services.lifecycle.issue(OTHER, OTHER_USER, CsrKey(make_csr()), OPERATOR)
    return {"taro": taro.certificate.serial or "", "jiro": jiro.certificate.serial or ""}


def csrf_of(browser: TestClient) -> str:
    if CSRF_COOKIE not in browser.cookies:
        browser.get("/console/login")
    return str(browser.cookies[CSRF_COOKIE])


def sign_in(browser: TestClient, account: Desk, password: str = PASSWORD, code: str = "") -> Any:
    form = {
        "username": account.name,
        "password": password,
        "totp": code or account.code(),
        "csrf_token": csrf_of(browser),
    }
    return browser.post("/console/login", data=form, follow_redirects=False)


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services)


@pytest.fixture
def console(
    app: FastAPI, desk: Callable[..., Desk], clock: FixedClock
) -> Callable[..., tuple[TestClient, Desk]]:
    """A browser (its own cookies) signed in as a new operator with a chosen password."""

    def make(
        name: str = "hanako", role: str = "helpdesk", company: str | None = None
    ) -> tuple[TestClient, Desk]:
        account = desk(name, role, company)
        browser = TestClient(app)
        assert sign_in(browser, account).headers["location"] == "/console/password"
        form = {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
            "csrf_token": csrf_of(browser),
        }
        changed = browser.post("/console/password", data=form, follow_redirects=False)
        assert changed.headers["location"] == "/console"
        clock.advance(STEP)
        return browser, account

    return make


def post(browser: TestClient, path: str, **fields: str) -> Any:
    return browser.post(
        path, data={**fields, "csrf_token": csrf_of(browser)}, follow_redirects=False
    )


def audit_rows(services: Services, action: str) -> list[AuditEvent]:
    with services.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.scalars(query))


def test_every_console_page_asks_for_sign_in_first(app, tenants):
    browser = TestClient(app)
    for path in ("/console", "/console/search?q=taro", "/console/certificates/AB"):
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")
    page = browser.get("/console/login")
    assert page.status_code == 200
    for name in ("username", "password", "totp"):
        assert f'name="{name}"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_sign_in_sets_a_strict_session_cookie_and_forces_a_new_password(app, desk):
    account = desk()
    browser = TestClient(app)
    answer = sign_in(browser, account)
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and COOKIE in v)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; https below
    assert browser.get("/console", follow_redirects=False).headers["location"] == (
        "/console/password"
    )
    form = {"current_password": PASSWORD, "new_password": "short", "csrf_token": csrf_of(browser)}
    form["new_password_confirm"] = "short"
    refused = browser.post("/console/password", data=form)
    assert refused.status_code == 422
    assert "8 to 32 characters" in browser.post("/console/password?lang=en", data=form).text
    form["new_password"] = form["new_password_confirm"] = NEW_PASSWORD
    assert browser.post("/console/password", data=form, follow_redirects=False).status_code == 303
    assert browser.get("/console").status_code == 200


def test_the_session_cookie_is_secure_over_https(app, desk):
    account = desk()
    browser = TestClient(app, base_url="https://testserver")
    answer = sign_in(browser, account)
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and COOKIE in v)
    assert "Secure" in cookie


def test_three_wrong_codes_lock_the_account_even_for_the_right_code(app, services, desk, clock):
    account = desk()
    browser = TestClient(app)
    for _ in range(3):
        wrong = sign_in(browser, account, code="000000" if account.code() != "000000" else "111111")
        assert wrong.status_code == 401
        assert "ロック" in wrong.text  # the one message names the lock rule
    clock.advance(STEP)
    refused = sign_in(browser, account)
    assert refused.status_code == 401
    assert COOKIE not in browser.cookies
    assert len(audit_rows(services, "console.locked")) == 1


def test_a_session_ends_after_the_idle_time_and_at_sign_out(services, console, clock):
    browser, _ = console()
    assert browser.get("/console").status_code == 200
    clock.advance(timedelta(minutes=31))
    ended = browser.get("/console", follow_redirects=False)
    assert ended.headers["location"] == "/console/login?next=%2Fconsole&ended=1"
    browser2, account = console("yuki")
    assert post(browser2, "/console/logout").headers["location"] == "/console/login"
    assert browser2.get("/console", follow_redirects=False).status_code == 303
    assert audit_rows(services, "console.sign_out")[0].actor == f"console:{account.name}"


def test_search_finds_a_user_sorted_and_paginated(services, console, people):
    browser, _ = console()
    page = browser.get("/console/search", params={"q": USER})
    assert page.status_code == 200
    assert people["taro"] in page.text
    assert re.search(r'id="result-count"[^>]*>1 ', page.text) or "1件" in page.text
    by_serial = browser.get("/console/search", params={"q": "a", "sort": "serial", "desc": 1})
    serials = re.findall(r'class="serial" href="/console/certificates/(\w+)"', by_serial.text)
    assert serials == sorted(people.values(), reverse=True)
    assert browser.get("/console/search", params={"q": "x" * 300}).status_code == 422


def test_a_tenant_admin_sees_its_tenant_only(services, console, people):
    browser, _ = console("boss", "tenant-admin", COMPANY)
    found = browser.get("/console/search", params={"q": "a"}).text  # both company names
    assert people["taro"] in found
    assert people["jiro"] not in found
    assert "Beta" not in found
    for path in (
        f"/console/certificates/{people['jiro']}",
        f"/console/tenants/{OTHER}",
        f"/console/tenants/{OTHER}/subscribers/{OTHER_USER}",
    ):
        assert browser.get(path).status_code == 404
    revoke = post(
        browser,
        f"/console/certificates/{people['jiro']}/revoke",
        reason="keyCompromise",
        ticket="T-1",
        confirm="yes",
    )
    assert revoke.status_code == 404
    assert services.lifecycle.show(people["jiro"]).state is CertState.ISSUED


def test_reissue_for_a_pc_change_confirms_then_mails_a_pickup_audited(services, console, people):
    browser, _ = console()
    serial = people["taro"]
    page = browser.get(f"/console/certificates/{serial}")
    assert page.status_code == 200
    assert 'name="ticket"' in page.text
    path = f"/console/certificates/{serial}/reissue"
    fields = {"reason": "pc-change", "revoke_old": "on-pickup", "new_email": ""}
    missing = post(browser, path, **fields, ticket="")
    assert missing.status_code == 422
    assert 'id="reissue-ticket-error"' in missing.text
    asked = post(browser, path, **fields, ticket="T-4711")
    assert asked.status_code == 200
    assert 'id="confirm"' in asked.text
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Pickup)) == 0
    done = post(browser, path, **fields, ticket="T-4711", confirm="yes")
    assert done.headers["location"] == f"/console/certificates/{serial}?done=reissue"
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Pickup)) == 1
        mails = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert mails
    assert mails >= 1
    event = audit_rows(services, "pickup.create")[-1]
    assert (event.actor, event.ticket) == ("console:hanako", "T-4711")
    shown = browser.get(f"/console/certificates/{serial}")
    assert "console:hanako" in shown.text
    assert "T-4711" in shown.text


def test_no_change_during_maintenance_shows_the_maintenance_page(services, console, people, clock):
    clock.set(maintenance_opens + timedelta(hours=1))
    browser, _ = console()
    serial = people["taro"]
    closed = post(
        browser,
        f"/console/certificates/{serial}/revoke",
        reason="keyCompromise",
        ticket="T-2",
        confirm="yes",
    )
    assert closed.status_code == 503
    assert 'id="maintenance"' in closed.text
    assert closed.headers["retry-after"] == "Sat, 28 Nov 2026 23:00:00 GMT"
    assert services.lifecycle.show(serial).state is CertState.ISSUED


def test_revoke_with_a_reason_and_the_csrf_refusal(services, console, people):
    browser, _ = console()
    serial = people["taro"]
    path = f"/console/certificates/{serial}/revoke"
    forged = browser.post(path, data={"reason": "keyCompromise", "ticket": "T-2", "confirm": "yes"})
    assert forged.status_code == 403
    assert services.lifecycle.show(serial).state is CertState.ISSUED
    assert post(browser, path, reason="nonsense", ticket="T-2").status_code == 422
    done = post(browser, path, reason="keyCompromise", ticket="T-2", confirm="yes")
    assert done.status_code == 303
    assert services.lifecycle.show(serial).state is CertState.REVOKED
    event = audit_rows(services, "certificate.revoke")[-1]
    assert (event.actor, event.ticket) == ("console:hanako", "T-2")
    again = post(browser, f"/console/certificates/{serial}/pickup", ticket="T-3")
    assert again.status_code == 409


def test_subscriber_page_resets_credentials_and_marks_no_certificate(services, console, people):
    browser, _ = console()
    base = f"/console/tenants/{COMPANY}/subscribers/{USER}"
    page = browser.get(base)
    assert page.status_code == 200
    assert people["taro"] in page.text
    done = post(browser, f"{base}/reset", reset="password", ticket="T-5", confirm="yes")
    assert done.headers["location"] == f"{base}?done=reset"
    event = audit_rows(services, "credentials.reset")[-1]
    assert (event.actor, event.ticket) == ("console:hanako", "T-5")
    held = post(browser, f"{base}/no-certificate", ticket="T-6", confirm="yes")
    assert held.status_code == 409  # taro holds a certificate: revoke it first


def test_tenant_page_and_administrator_change_by_an_admin_only(services, console, people):
    desk_browser, _ = console()
    refused = post(
        desk_browser,
        f"/console/tenants/{COMPANY}/administrator",
        name="N",
        email="n@acme.example.jp",
        ticket="T-7",
        confirm="yes",
    )
    assert refused.status_code == 403
    admin, _ = console("root2", "admin")
    page = admin.get(f"/console/tenants/{COMPANY}")
    assert USER in page.text
    done = post(
        admin,
        f"/console/tenants/{COMPANY}/administrator",
        name="Ken Ito",
        email="ken@acme.example.jp",
        ticket="T-8",
        confirm="yes",
    )
    assert done.status_code == 303
    assert services.directory.show_tenant(COMPANY).admin_email == "ken@acme.example.jp"


def test_dashboard_figures_equal_a_count_in_sql(services, console, people, clock):
    clock.set(expiry_evening - timedelta(days=20))
    browser, _ = console()
    page = browser.get("/console")
    assert page.status_code == 200
    assert '<svg id="expiry-chart"' in page.text
    today = clock.now().date()
    with services.sessions() as session:
        counted = {
            days: session.scalar(
                select(func.count())
                .select_from(Certificate)
                .where(
                    Certificate.state == CertState.ISSUED,
                    Certificate.expiry_date >= today,
                    Certificate.expiry_date <= today + timedelta(days=days),
                )
            )
            for days in (7, 30, 60)
        }
    assert counted == {7: 0, 30: 2, 60: 2}
    for days, count in counted.items():
        assert f'<td class="n{days}">{count}</td>' in page.text
        assert f'data-days="{days}">{count}</text>' in page.text
