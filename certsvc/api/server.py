"""Running the app under uvicorn: plain HTTP, or HTTPS with TLS 1.2 as the floor."""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Callable

import uvicorn

from certsvc.api.app import create_app
from certsvc.api.check import CheckFastPath
from certsvc.api.deadline import with_header_timeout
from certsvc.app import Services
from certsvc.errors import CertsvcError, ConfigError


def server_config(services: Services, host: str, port: int) -> uvicorn.Config:
    """A uvicorn config for ``services``; HTTPS when ``[http] tls_cert/tls_key`` are set."""
    http = services.settings.http
    if services.settings.webhooks.urls:
        services.gateway.webhooks  # noqa: B018 - checks the webhook secrets before serving
    if bool(http.tls_cert) != bool(http.tls_key):
        raise ConfigError("config keys http.tls_cert and http.tls_key must be set together")
    tls = {}
    if http.tls_cert:
        tls = {
            "ssl_certfile": str(services.settings.path(http.tls_cert, "")),
            "ssl_keyfile": str(services.settings.path(http.tls_key, "")),
        }
    config = uvicorn.Config(
        CheckFastPath(create_app(services), services.gateway.checker, services.gateway.access),
        host=host,
        port=port,
        log_level=services.settings.logging.level,
        access_log=False,  # certsvc.api.observe writes the access log, in structlog's stream
        log_config=None,  # uvicorn's own lines go through certsvc.logging's bridge
        server_header=False,
        http=with_header_timeout(http.header_timeout_seconds),  # h11, with a header deadline
        timeout_keep_alive=http.keep_alive_seconds,
        h11_max_incomplete_event_size=http.max_header_bytes,
        **tls,  # type: ignore[arg-type]
    )
    try:
        config.load()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the HTTPS certificate or key: {exc}") from exc
    if config.ssl is not None:
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
    return config


def serve(
    services: Services, host: str, port: int, listening: Callable[[], None] | None = None
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop uvicorn gracefully).

    The CA is checked and the port bound before anything is reported: a CA key that does
    not open, or a port another process holds, ends here with a ConfigError (exit 6),
    never with a server that answers /readyz. ``listening`` runs once the port is ours.
    """
    check_signing_ca(services)
    config = server_config(services, host, port)
    listener = bind(host, port)
    if listening is not None:
        listening()
    uvicorn.Server(config).run(sockets=[listener])


def check_signing_ca(services: Services) -> None:
    """A CA that signs here (keys on this machine or its token) must open before serving,
    and be the CA the database records (``Services.open_ca``): CRLs and OCSP answers
    depend on it. One line, ``the CA cannot sign: <why>``. A remote CA is not checked."""
    adapter = services.adapter
    if adapter.remote:
        return
    try:
        services.open_ca()
    except CertsvcError as exc:
        raise ConfigError(f"the CA cannot sign: {exc}") from exc
    failed = [line for line in adapter.check() if not line.ok]
    if failed:
        raise ConfigError(f"the CA cannot sign: {failed[0].detail}")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or one line saying why not (port in use, address not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as exc:
        listener.close()
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(f"cannot listen on {host}:{port}: {why}") from exc
    return listener


def base_url(services: Services, host: str, port: int) -> str:
    scheme = "https" if services.settings.http.tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"
