"""The URL extensions of the local CA's certificates: CRL distribution points and AIA.

A relying party that validates a chain by itself (RFC 5280, revocation required) needs,
in every certificate below the root, where that certificate's issuer publishes its CRL
(CRL DP), and in a client certificate where to ask OCSP and where to fetch the issuer's
certificate (Authority Information Access). certsvc serves all three at its public
address; gateways handed the CRL bundle do not need them, other relying parties do.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from ca_adapters.base import CertificateURLs
from certsvc.errors import ConfigError

Extension = tuple[x509.ExtensionType, bool]


def refuse_if_unusable(urls: CertificateURLs) -> None:
    """A ConfigError instead of a certificate pointing where its relying parties cannot go."""
    if urls.refused:
        raise ConfigError(urls.refused)


def _distribution_point(url: str) -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
    return x509.CRLDistributionPoints([point])


def _access(ocsp_url: str, issuer_url: str) -> list[Extension]:
    found = [
        x509.AccessDescription(method, x509.UniformResourceIdentifier(url))
        for method, url in (
            (AuthorityInformationAccessOID.OCSP, ocsp_url),
            (AuthorityInformationAccessOID.CA_ISSUERS, issuer_url),
        )
        if url
    ]
    return [(x509.AuthorityInformationAccess(found), False)] if found else []


def leaf_extensions(urls: CertificateURLs, issuer: str) -> list[Extension]:
    """CRL DP (the issuer's CRL, or the ``crl_url`` override) and AIA OCSP + caIssuers."""
    crl_url = urls.crl_url or urls.crl_of(issuer)
    points = [(_distribution_point(crl_url), False)] if crl_url else []
    return [*points, *_access(urls.ocsp(), urls.certificate_of(issuer))]


def ca_extensions(urls: CertificateURLs, parent: str) -> list[Extension]:
    """For a subordinate CA: CRL DP to its parent's CRL and AIA caIssuers to the parent."""
    crl_url = urls.crl_of(parent)
    points = [(_distribution_point(crl_url), False)] if crl_url else []
    return [*points, *_access("", urls.certificate_of(parent))]


def describe(urls: CertificateURLs, issuer: str) -> list[str]:
    """What ``certsvc init`` says goes into client certificates."""
    crl_url = urls.crl_url or urls.crl_of(issuer)
    return [
        f"client certificates carry: CRL {crl_url or 'none'}, OCSP {urls.ocsp() or 'none'}, "
        f"CA issuer {urls.certificate_of(issuer) or 'none'}"
    ]


def has_distribution_point(certificate: x509.Certificate) -> bool:
    try:
        certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return False
    return True
