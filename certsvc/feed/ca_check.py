"""``certsvc ca check``: is the configured CA usable right now? One line per check.

The adapter checks what only it knows (keys open, login, policy, quota); the trust chain
and the revocation source are checked here the same way for every adapter, so a
third-party adapter gets them for free.
"""

from __future__ import annotations

from collections.abc import Callable

from ca_adapters.base import CAAdapter, CheckLine, MirroredCRL
from certsvc.clock import Clock
from certsvc.domain.chain import check_chain
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
