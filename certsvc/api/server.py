"""Running the app under uvicorn: plain HTTP, or HTTPS with TLS 1.2 as the floor."""

from __future__ import annotations

import ssl

import uvicorn

from certsvc.api.app import create_app
from certsvc.api.check import CheckFastPath
from certsvc.app import Services
from certsvc.errors import ConfigError


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
        **tls,  # type: ignore[arg-type]
    )
    try:
        config.load()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the HTTPS certificate or key: {exc}") from exc
    if config.ssl is not None:
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
    return config


def serve(services: Services, host: str, port: int) -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop uvicorn gracefully)."""
    uvicorn.Server(server_config(services, host, port)).run()


def base_url(services: Services, host: str, port: int) -> str:
    scheme = "https" if services.settings.http.tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"
