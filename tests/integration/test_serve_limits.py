"""Slow clients cannot hold connections: ``certsvc serve`` closes a connection whose request
headers do not arrive within ``[http] header_timeout_seconds``.

A wall-clock wait is the point here: it is the server's own timer under test, bounded by
the configured 1 s (the socket gives up after 3 s, so a server without a deadline fails).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from certsvc.app import Services
from certsvc.clock import SystemClock
from tests.conftest import make_settings
from tests.integration.test_serve import free_port, running_server, write_config


def initialised_home(tmp_path: Path, database_url: str, http_setting: str) -> Path:
    """A home made by ``init``, and its config with one ``[http]`` setting."""
    home = tmp_path / "home"
    services = Services(make_settings(home, database_url), SystemClock())
    services.initialise()
    services.engine.dispose()
    return write_config(home, database_url, f"[http]\n{http_setting}\n")


def test_half_a_request_line_is_cut_off_after_the_header_timeout(
    tmp_path: Path, database_url: str
) -> None:
    config = initialised_home(tmp_path, database_url, "header_timeout_seconds = 1")
    port = free_port()
    with running_server(config, port), socket.create_connection(("127.0.0.1", port)) as slow:
        slow.settimeout(3)
        started = time.monotonic()
        slow.sendall(b"GET /healthz HT")
        try:
            answer = slow.recv(1024)
        except TimeoutError:
            answer = b"still open after 3 s"
        elapsed = time.monotonic() - started
    assert answer == b"", answer
    assert 0.5 < elapsed < 2.5


def test_a_body_that_stops_arriving_is_answered_408_after_the_body_timeout(
    tmp_path: Path, database_url: str
) -> None:
    config = initialised_home(tmp_path, database_url, "body_timeout_seconds = 1")
    port = free_port()
    with running_server(config, port), socket.create_connection(("127.0.0.1", port)) as slow:
        slow.settimeout(3)
        started = time.monotonic()
        slow.sendall(
            b"POST /api/v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"company'
        )
        try:
            answer = slow.recv(4096)
        except TimeoutError:
            answer = b"no answer after 3 s"
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"application/problem+json" in answer
    assert 0.5 < elapsed < 2.5
