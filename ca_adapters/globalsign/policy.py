"""The CA's validation policy, and the ``POST /certificates`` body it shapes.

The CA refuses a request that sends a field its policy fixes (STATIC) or forbids, a
validity longer than ``secondsmax``, a notBefore outside its clock skew, or a key of the
wrong type or form; so the request is built from the policy rather than sent blindly
and corrected after a 422. What certsvc cannot satisfy at all is refused here, before
any quota is spent.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ca_adapters.base import IssueRequest
from certsvc.errors import CARejected, CAUnavailable

ADAPTER = "globalsign"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
OMITTED = ("STATIC", "FORBIDDEN")
SKEW_MARGIN = 10
"""Seconds kept clear of the CA's notBefore skew limits (its clock and ours drift)."""


@dataclass(frozen=True)
class Policy:
    """The parts of the validation policy that shape our requests."""

    seconds_min: int
    seconds_max: int
    negative_skew: int
    positive_skew: int
    key_type: str
    allowed_lengths: tuple[int, ...]
    key_format: str
    key_signature: str
    subject_presence: dict[str, str]
    san_emails: bool
    ekus_static: bool

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Policy:
        """Read the policy JSON; a policy we cannot read is the CA's fault, not the user's."""
        try:
            validity = data["validity"]
            key = data.get("public_key", {})
            emails = data.get("san", {}).get("emails", {})
            ekus = data.get("extended_key_usages", {}).get("ekus", {})
            return cls(
                seconds_min=int(validity.get("secondsmin", 0)),
                seconds_max=int(validity["secondsmax"]),
                negative_skew=int(validity.get("not_before_negative_skew", 120)),
                positive_skew=int(validity.get("not_before_positive_skew", 120)),
                key_type=str(key.get("key_type", "")).upper(),
                allowed_lengths=tuple(int(n) for n in key.get("allowed_lengths", ())),
                key_format=str(key.get("key_format", "PKCS8")).upper(),
                key_signature=str(data.get("public_key_signature", "FORBIDDEN")).upper(),
                subject_presence={
                    name: str(rule.get("presence", "OPTIONAL")).upper()
                    for name, rule in data.get("subject_dn", {}).items()
                    if isinstance(rule, dict) and "presence" in rule
                },
                san_emails=not emails.get("static", False) and emails.get("maxcount", 1) != 0,
                ekus_static=bool(ekus.get("static", False)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CAUnavailable(f"unreadable validation policy: {exc!r}", ADAPTER) from exc

    def summary(self) -> str:
        lengths = "/".join(str(n) for n in self.allowed_lengths) or "any"
        days = self.seconds_max // 86400
        return (
            f"{self.key_type or 'any'} {lengths} as {self.key_format}, validity up to {days} days,"
            f" public key signature {self.key_signature}"
        )


def request_body(
    policy: Policy,
    request: IssueRequest,
    server_now: datetime,
    offset: timedelta,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The JSON for ``POST /certificates``; ``offset`` maps our clock onto the CA's, and
    ``zone`` is the business zone whose day ends a clamped validity."""
    _check_key(policy, request)
    not_before, not_after = clamp_validity(
        policy, request.not_before + offset, request.not_after, server_now, zone
    )
    body: dict[str, Any] = {
        "validity": {"not_before": not_before, "not_after": not_after},
        "subject_dn": _subject(policy, request),
        "public_key": _public_key(policy, request),
    }
    if policy.san_emails:
        body["san"] = {"emails": [request.subject.email]}
    if not policy.ekus_static:
        body["extended_key_usages"] = [CLIENT_AUTH]
    if policy.key_signature == "REQUIRED":
        signature = _key_signature(policy, request)
        if signature is not None:
            body["public_key_signature"] = signature
    return body


def clamp_validity(
    policy: Policy, not_before: datetime, not_after: datetime, server_now: datetime, zone: ZoneInfo
) -> tuple[int, int]:
    """notBefore inside the CA's skew window around its "now"; validity within secondsmax.

    A validity cut short by ``secondsmax`` still ends at the last second of a business
    day (the day before the cut), so the certificate's expiry date, the TLS check and
    the nightly invalidation agree, as for any other certificate.
    """
    start, end = _clamped(policy, _seconds(not_before), _seconds(not_after), _seconds(server_now))
    if end < _seconds(not_after):
        end = _day_end_at_or_before(end, zone)
    return start, end


def _clamped(policy: Policy, not_before: int, not_after: int, now: int) -> tuple[int, int]:
    margin_low = min(SKEW_MARGIN, policy.negative_skew // 2)
    margin_high = min(SKEW_MARGIN, policy.positive_skew // 2)
    earliest = now - policy.negative_skew + margin_low
    latest = now + policy.positive_skew - margin_high
    start = min(max(not_before, earliest), latest)
    return start, min(not_after, start + policy.seconds_max)


def _day_end_at_or_before(limit: int, zone: ZoneInfo) -> int:
    """The latest 23:59:59 (business time) not after ``limit`` (Unix seconds)."""
    next_second = datetime.fromtimestamp(limit + 1, zone)
    midnight = datetime.combine(next_second.date(), time(0, 0), tzinfo=zone)
    return _seconds(midnight) - 1


def _seconds(instant: datetime) -> int:
    return int(instant.timestamp())


def _subject(policy: Policy, request: IssueRequest) -> dict[str, str]:
    wanted = {
        "common_name": request.subject.common_name,
        "organization": request.subject.organization,
        "country": request.subject.country,
    }
    for name, presence in policy.subject_presence.items():
        if presence == "REQUIRED" and not wanted.get(name):
            raise CARejected(f"the CA's policy requires subject field {name!r}", ADAPTER)
    return {
        name: value
        for name, value in wanted.items()
        if value and policy.subject_presence.get(name, "OPTIONAL") not in OMITTED
    }


def _public_key(policy: Policy, request: IssueRequest) -> str:
    if policy.key_format == "PKCS10":
        if request.csr_pem is None:
            raise CARejected("the CA's policy wants a CSR (PKCS#10) and none was given", ADAPTER)
        return request.csr_pem.decode()
    pem = request.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode()


def _key_signature(policy: Policy, request: IssueRequest) -> str | None:
    """The ``public_key_signature`` a REQUIRED policy wants: proof of possession.

    certsvc can sign only with keys it made. A subscriber's CSR proves possession by its
    own self-signature, which the CA checks where the policy takes PKCS#10; under PKCS#8
    nothing can stand in for the signature, so the request is refused before it is sent.
    """
    if request.key_proof is not None:
        return base64.b64encode(request.key_proof(_spki(request))).decode()
    if policy.key_format == "PKCS10":
        return None  # the CSR sent as public_key carries the proof
    raise CARejected(
        "the CA's validation policy requires public_key_signature over a PKCS#8 public key, "
        "and certsvc holds no private key for a subscriber's CSR: issue with a server-made "
        "key (PKCS#12), or have the CA account's policy take PKCS#10",
        ADAPTER,
    )


def _spki(request: IssueRequest) -> bytes:
    return request.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_key(policy: Policy, request: IssueRequest) -> None:
    """Refuse a key the CA's policy will refuse, before spending quota on it."""
    key = request.public_key
    kind = "RSA" if isinstance(key, rsa.RSAPublicKey) else "ECDSA"
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        kind = type(key).__name__
    if policy.key_type and kind != policy.key_type:
        raise CARejected(f"the CA's policy accepts {policy.key_type} keys, not {kind}", ADAPTER)
    size = key.key_size if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) else 0
    if policy.allowed_lengths and size not in policy.allowed_lengths:
        allowed = ", ".join(str(n) for n in policy.allowed_lengths)
        raise CARejected(f"the CA's policy accepts key sizes {allowed}, not {size}", ADAPTER)
