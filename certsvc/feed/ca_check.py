"""``certsvc ca check``: is the configured CA usable right now? One line per check.

The adapter checks what only it knows (keys open, login, policy, quota); the trust chain
and the revocation source are checked here the same way for every adapter, so a
third-party adapter gets them for free.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from ca_adapters.base import CAAdapter, CAIdentity, CheckLine, CRLSigner, MirroredCRL
from certsvc.clock import Clock
from certsvc.domain.chain import check_chain
from certsvc.errors import CertsvcError
from certsvc.feed.crl import CRLPublisher
from certsvc.feed.crl_store import CRLFile
from certsvc.feed.root_crl import freshness, imported_of
from certsvc.storage.ca_ledger import recorded_cas

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
    imported = imported_of(adapter)
    if imported:
        try:
            files = crls.current()
        except CertsvcError as exc:
            return [*lines, CheckLine("root crl", False, str(exc))]
        lines += freshness(files, imported, clock.now(), crls.rules.root_crl_warn_days)
    return lines


def _crl_line(adapter: CAAdapter, crls: CRLPublisher) -> CheckLine:
    """Signed CRLs must be signed by the recorded CA (a failure otherwise); a fresh
    external-CA install learns the issuing CA's CRL URL from its first certificate:
    until then that is a warning, not a failure."""
    try:
        source = adapter.revocation_source()
        if not isinstance(source, MirroredCRL):
            return _signed_line(adapter, crls)
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


def _signed_line(adapter: CAAdapter, crls: CRLPublisher) -> CheckLine:
    """CRLs certsvc signs itself: published when due, each signed by the recorded CA."""
    files = crls.current()
    wrong = unsigned_by_recorded(files, recorded_of(crls, adapter.name))
    if wrong:
        return CheckLine("crl", False, "; ".join(wrong))
    detail = ", ".join(
        f"{f.ca_name} #{f.number} until {f.next_update:%Y-%m-%d %H:%M}" for f in files
    )
    return CheckLine("crl", True, detail)


def recorded_of(crls: CRLPublisher, adapter: str) -> list[CAIdentity]:
    """The CAs the database records for ``adapter`` (certsvc reads its own table)."""
    with crls.sessions() as session:
        return recorded_cas(session, adapter)


def unsigned_by_recorded(files: Sequence[CRLFile], recorded: Sequence[CAIdentity]) -> list[str]:
    """Each served CRL not signed by the CA of that name the database records."""
    if not recorded:
        return []
    keys = {ca.ca_name: x509.load_pem_x509_certificate(ca.certificate_pem) for ca in recorded}
    wrong = []
    for crl_file in files:
        issuer = keys.get(crl_file.ca_name)
        crl = x509.load_der_x509_crl(crl_file.der)
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            wrong.append(
                f"the {crl_file.ca_name} CRL #{crl_file.number} is not signed by the"
                " CA this database records"
            )
    return wrong


def readiness_problems(
    adapter: CAAdapter, crls: CRLPublisher, files: Sequence[CRLFile]
) -> list[str]:
    """What ``/readyz`` reports of a CA whose CRLs certsvc signs: keys that do not open or
    match the recorded CA, and served CRLs that the recorded CA did not sign."""
    if not isinstance(adapter.revocation_source(), CRLSigner):
        return []
    found = [f"CA {line.name}: {line.detail}" for line in adapter.check() if not line.ok]
    return found + unsigned_by_recorded(files, recorded_of(crls, adapter.name))
