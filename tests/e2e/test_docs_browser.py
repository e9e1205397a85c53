"""``/docs`` and ``/redoc`` in Debian's chromium with every other origin cut off: the API
documentation renders from certsvc's own assets, and the browser asks no one else."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from certsvc.api.server import server_config
from certsvc.app import Services
from certsvc.clock import FixedClock
from tests import timestamps
from tests.conftest import make_settings
from tests.e2e.conftest import free_port, wait_until
from tests.e2e.test_pages_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def origin(tmp_path: Path, database_url: str) -> Iterator[str]:
    services = Services(
        make_settings(tmp_path / "home", database_url), FixedClock(timestamps.issued)
    )
    services.initialise()
    port = free_port()
    server = uvicorn.Server(server_config(services, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="certsvc-docs", daemon=True)
    thread.start()
    wait_until(lambda: server.started, "certsvc HTTP")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.close()


@pytest.fixture
def offline_page(origin: str) -> Iterator[tuple[object, list[str]]]:
    """A tab whose requests to any other origin are aborted (no network) and recorded."""
    foreign: list[str] = []

    def only_certsvc(route) -> None:
        url = route.request.url
        if url.startswith((origin, "data:", "blob:")):
            route.continue_()
        else:
            foreign.append(url)
            route.abort("internetdisconnected")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context()
        context.route("**/*", only_certsvc)
        yield context.new_page(), foreign
        context.close()
        browser.close()


def test_swagger_ui_renders_every_route_with_the_network_off(origin, offline_page):
    page, foreign = offline_page
    page.goto(f"{origin}/docs")
    title = page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "certsvc API" in page.title()
    assert "certsvc" in title.text_content()
    page.wait_for_selector('.opblock-summary-path[data-path="/api/v1/tenants"]', timeout=15_000)
    assert page.locator(".opblock").count() > 20  # the routes, not an error box
    assert foreign == []


def test_redoc_renders_with_the_network_off(origin, offline_page):
    page, foreign = offline_page
    page.goto(f"{origin}/redoc")
    heading = page.wait_for_selector("h1", timeout=15_000)
    assert heading.text_content().startswith("certsvc")
    page.locator("text=List tenants").first.wait_for(state="attached", timeout=15_000)
    assert foreign == []
