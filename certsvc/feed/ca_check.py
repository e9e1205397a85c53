"""``certsvc ca check``: is the configured CA usable right now? One line per check.

The adapter checks what only it knows (keys open, login, policy, quota); the trust chain
and the revocation source are checked here the same way for every adapter, so a
third-party adapter gets them for free.
"""

from __future__ import annotations

from ca_adapters.base import CAAdapter, CheckLine, MirroredCRL
from certsvc.clock import Clock
from certsvc.domain.chain import check_chain
from certsvc.errors import CertsvcError
from certsvc.feed.crl import CRLPublisher

NO_CRL_URL_YET = (
    "no CRL URL of the issuing CA known yet: it is read from the first certificate issued "
    "(or set ca.globalsign.crl_urls); until then gateways get no CRL of it"
)
ISSUING = "issuing"


def check_ca(adapter: CAAdapter, crls: CRLPublisher, clock: Clock) -> list[CheckLine]:
    """Every check, failures included as lines; never raises for a CA problem."""
    lines = list(adapter.check())
    try:
        lines.append(CheckLine("chain", True, check_chain(adapter.trust_chain(), clock.now())))
    except CertsvcError as exc:
        lines.append(CheckLine("chain", False, str(exc)))
    lines.append(_crl_line(adapter, crls))
    return lines


def _crl_line(adapter: CAAdapter, crls: CRLPublisher) -> CheckLine:
    """A fresh external-CA install learns the issuing CA's CRL URL from its first
    certificate: until then that is a warning, not a failure."""
    try:
        source = adapter.revocation_source()
        if not isinstance(source, MirroredCRL):
            files = crls.current()
            detail = ", ".join(
                f"{f.ca_name} #{f.number} until {f.next_update:%Y-%m-%d %H:%M}" for f in files
            )
            return CheckLine("crl", True, detail)
        statuses = crls.mirror().refresh(source) if source.urls else []
    except CertsvcError as exc:
        return CheckLine("crl", False, str(exc))
    bad = [s for s in statuses if s.stale or s.error]
    if bad:
        detail = "; ".join(
            f"{s.url}: {'STALE ' if s.stale else ''}{s.error or ''}".strip() for s in bad
        )
        return CheckLine("crl", False, detail)
    found = [
        f"{s.ca_name} #{s.number} mirrored, fresh until {s.next_update:%Y-%m-%d %H:%M}"
        for s in statuses
    ]
    if all(s.ca_name != ISSUING for s in statuses):
        return CheckLine("crl", True, "; ".join([*found, NO_CRL_URL_YET]), warning=True)
    return CheckLine("crl", True, ", ".join(found))
