"""certsvc's one public address, and the URLs certificates carry that are derived from it.

A relying party that checks a certificate by itself (a strict RFC 5280 validator, Windows,
a Java client) fetches the CRL, the OCSP answer and the issuer's certificate from the URLs
written into the certificate, for the certificate's whole life: they must name the address
by which others reach certsvc, never the loopback address it happens to listen on. That
address is ``[http] public_url``; when it is empty, the origin of ``[pickup]
link_base_url`` (the subscriber pages, so pages, mails and certificates agree), else what
``certsvc serve`` listens on (``[http] host`` and ``port``). Both set must name the same
origin (``config.check_one_address``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from certsvc.config import HTTPSettings, Settings, origin_of

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


@dataclass(frozen=True)
class PublicAddress:
    """The origin others reach certsvc by (``scheme://host[:port]``) and which key gave it."""

    origin: str
    source: str

    @property
    def host(self) -> str:
        return urlsplit(self.origin).hostname or ""


@dataclass(frozen=True)
class CertificateLinks:
    """What goes into certificates: explicit ``[certificates]`` overrides and the base.

    ``refused`` says why these URLs must not go into any certificate (a loopback address
    while certsvc serves others); empty when they may.
    """

    base_url: str
    crl_url: str
    ocsp_url: str
    refused: str


def serving_url(http: HTTPSettings, host: str | None = None, port: int | None = None) -> str:
    """Where ``certsvc serve`` answers, as a URL a process on this host can use.

    A wildcard listen address (``0.0.0.0``, ``::``) is reached on loopback.
    """
    chosen = http.host if host is None else host
    if chosen in WILDCARD_HOSTS:
        chosen = "127.0.0.1"
    shown = f"[{chosen}]" if ":" in chosen and not chosen.startswith("[") else chosen
    scheme = "https" if http.tls_cert else "http"
    return f"{scheme}://{shown}:{http.port if port is None else port}"


def public_address(settings: Settings) -> PublicAddress:
    """The public origin: ``[http] public_url``, else ``[pickup] link_base_url``'s, else serve's."""
    if settings.http.public_url:
        origin = origin_of(settings.http.public_url, "http.public_url")
        return PublicAddress(origin, "http.public_url")
    if settings.pickup.link_base_url:
        origin = origin_of(settings.pickup.link_base_url, "pickup.link_base_url")
        return PublicAddress(origin, "pickup.link_base_url")
    return PublicAddress(serving_url(settings.http), "http.host and http.port")


def pickup_link_base(settings: Settings) -> str:
    """Where mailed pickup links point: ``[pickup] link_base_url``, else ``<public>/pickup``."""
    configured = settings.pickup.link_base_url
    return (configured or f"{public_address(settings).origin}/pickup").rstrip("/")


def is_loopback(host: str) -> bool:
    """``localhost`` or an address in 127.0.0.0/8 or ::1."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def certificate_links(settings: Settings, listen_host: str | None = None) -> CertificateLinks:
    """The base and overrides of the URLs in certificates, refused when only this host sees
    them while certsvc serves on another address (``listen_host``, else ``[http] host``)."""
    chosen = settings.certificates
    if chosen.url_base:
        base = origin_of(chosen.url_base, "certificates.url_base")
    else:
        base = public_address(settings).origin
    listening = settings.http.host if listen_host is None else listen_host
    refused = ""
    if not is_loopback(listening):
        loopback = [
            url
            for url in (base, chosen.crl_url, chosen.ocsp_url)
            if url and is_loopback(urlsplit(url).hostname or "")
        ]
        if loopback:
            refused = (
                f"certificates would point at loopback ({loopback[0]}) while certsvc serves "
                f"on {listening or '*'}: set [http] public_url to the address clients reach "
                "certsvc by"
            )
    return CertificateLinks(base, chosen.crl_url, chosen.ocsp_url, refused)
