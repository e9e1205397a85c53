"""``certsvc ca check``: is the configured CA usable right now? One line per check.

The adapter checks what only it knows (keys open, login, policy, quota); the trust chain
and the revocation source are checked here the same way for every adapter, so a
third-party adapter gets them for free.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ca_adapters.base import CAAdapter, CheckLine, MirroredCRL
from certsvc.clock import Clock
from certsvc.errors import CAError, CertsvcError
from certsvc.feed.crl import CRLPublisher


def check_ca(adapter: CAAdapter, crls: CRLPublisher, clock: Clock) -> list[CheckLine]:
    """Every check, failures included as lines; never raises for a CA problem."""
    lines = list(adapter.check())
    lines.append(probe("chain", lambda: check_chain(adapter.trust_chain(), clock.now())))
    lines.append(probe("crl", lambda: check_crls(adapter, crls)))
    return lines


def probe(name: str, run: Callable[[], str]) -> CheckLine:
    try:
        return CheckLine(name, True, run())
    except CertsvcError as exc:
        return CheckLine(name, False, str(exc))


def check_chain(chain: list[x509.Certificate], now: datetime) -> str:
    """Issuing CA first, each signed by the next, the last self-signed, all CAs, all valid."""
    if not chain:
        raise CAError("empty trust chain")
    for index, certificate in enumerate(chain):
        name = certificate.subject.rfc4514_string()
        issuer = chain[index + 1] if index + 1 < len(chain) else certificate
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CAError(f"{name} is not signed by the next certificate ({exc})") from exc
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise CAError(f"{name} is not valid now")
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        if not constraints.value.ca:
            raise CAError(f"{name} is not a CA certificate")
    until = min(certificate.not_valid_after_utc for certificate in chain)
    root = chain[-1].subject.rfc4514_string()
    return f"{len(chain)} certificates up to {root}, valid until {until:%Y-%m-%d}"


def check_crls(adapter: CAAdapter, crls: CRLPublisher) -> str:
    """Mirrored CRLs downloaded and verified now; signed CRLs published when due."""
    source = adapter.revocation_source()
    if not isinstance(source, MirroredCRL):
        files = crls.current()
        return ", ".join(
            f"{f.ca_name} #{f.number} until {f.next_update:%Y-%m-%d %H:%M}" for f in files
        )
    statuses = crls.mirror().refresh(source)
    if not statuses:
        raise CAError("no CRL URL known (set ca.globalsign.crl_urls or issue a certificate)")
    bad = [s for s in statuses if s.stale or s.error]
    if bad:
        raise CAError(
            "; ".join(f"{s.url}: {'STALE ' if s.stale else ''}{s.error or ''}".strip() for s in bad)
        )
    return ", ".join(
        f"{s.ca_name} #{s.number} mirrored, fresh until {s.next_update:%Y-%m-%d %H:%M}"
        for s in statuses
    )
