"""The fake CA's brain: validation policy, issuance, revocation, statistics and CRLs.

Independent of HTTP so the rules the fake enforces read like the spec
(``globalsign-api.md``); ``tests.fakes.globalsign`` puts it behind HTTPS.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tests.fakes.pki import Authority, crl_points, make_authority

REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
}
SUBJECT_OIDS = {
    "common_name": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "country": NameOID.COUNTRY_NAME,
    "email": NameOID.EMAIL_ADDRESS,
}
CRL_HOURS = 24


def default_policy() -> dict[str, Any]:
    """A client-certificate policy like an HVCA account's: ECDSA keys, static clientAuth."""
    return {
        "validity": {
            "secondsmin": 3600,
            "secondsmax": 733 * 86400,
            "not_before_negative_skew": 120,
            "not_before_positive_skew": 120,
        },
        "subject_dn": {
            "common_name": {"presence": "REQUIRED", "format": r"^[A-Za-z0-9._@-]{1,64}$"},
            "organization": {"presence": "REQUIRED", "format": r"^.{1,64}$"},
            "country": {"presence": "OPTIONAL", "format": r"^[A-Z]{2}$"},
            "email": {"presence": "FORBIDDEN", "format": ""},
        },
        "san": {"emails": {"static": False, "list": [], "mincount": 1, "maxcount": 1}},
        "extended_key_usages": {
            "ekus": {"static": True, "list": ["1.3.6.1.5.5.7.3.2"], "mincount": 1, "maxcount": 1},
            "critical": False,
        },
        "public_key": {"key_type": "ECDSA", "allowed_lengths": [256, 384], "key_format": "PKCS8"},
        "public_key_signature": "FORBIDDEN",
    }


class Problem(Exception):
    """An error answer: HTTP status and the problem+json description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class Record:
    """One certificate the fake CA issued."""

    certificate: x509.Certificate
    issued_at: int
    spki_sha256: str
    body: dict[str, Any]
    status: str = "ISSUED"
    updated_at: int = 0
    reason: str | None = None
    revoked_at: datetime | None = None
    polls_left: int = 0

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


class FakeAuthority:
    """Issues under a root -> issuing CA chain and keeps the ledger; thread-safe."""

    def __init__(self, crl_base: str) -> None:
        self.crl_base = crl_base
        self.root = make_authority("Fake GlobalSign Root CA")
        self.issuing = make_authority(
            "Fake GlobalSign Client CA 2026", self.root, f"{crl_base}/crl/root.crl"
        )
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.records: dict[int, Record] = {}
            self.policy = default_policy()
            self.quota = 1000
            self._crls: dict[str, tuple[datetime, bytes]] = {}
            self._crl_numbers: dict[str, int] = {}

    def chain(self) -> list[str]:
        return [self.issuing.pem, self.root.pem]

    # -- issuance -----------------------------------------------------------------------

    def issue(self, body: dict[str, Any], now: datetime) -> Record:
        with self.lock:
            if self.quota <= 0:
                raise Problem(402, "Quota exceeded: no issuance quota left")
            public_key = self._check(body, now)
            certificate = self._sign(body, public_key, now)
            spki = public_key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            record = Record(
                certificate,
                int(now.timestamp()),
                hashlib.sha256(spki).hexdigest(),
                copy.deepcopy(body),
                updated_at=int(now.timestamp()),
            )
            self.records[certificate.serial_number] = record
            self.quota -= 1
            return record

    def _check(self, body: dict[str, Any], now: datetime) -> Any:
        """Enforce the validation policy; return the public key to certify."""
        policy = self.policy
        validity = body.get("validity") or {}
        not_before, not_after = validity.get("not_before"), validity.get("not_after")
        if not isinstance(not_before, int) or not isinstance(not_after, int):
            raise Problem(422, "validity.not_before and validity.not_after must be integers")
        rules = policy["validity"]
        now_s = int(now.timestamp())
        if (
            not now_s - rules["not_before_negative_skew"]
            <= not_before
            <= (now_s + rules["not_before_positive_skew"])
        ):
            raise Problem(422, f"not_before {not_before} is outside the allowed skew of {now_s}")
        length = (not_after or not_before + rules["secondsmax"]) - not_before
        if not rules["secondsmin"] <= length <= rules["secondsmax"]:
            raise Problem(422, f"validity of {length} s is outside the policy")
        self._check_subject(body.get("subject_dn") or {})
        if policy["extended_key_usages"]["ekus"]["static"] and "extended_key_usages" in body:
            raise Problem(422, "extended_key_usages is static in this policy")
        emails = (body.get("san") or {}).get("emails") or []
        if len(emails) > policy["san"]["emails"]["maxcount"]:
            raise Problem(422, "too many SAN e-mail addresses")
        return self._public_key(body)

    def _check_subject(self, subject: dict[str, Any]) -> None:
        for field, rule in self.policy["subject_dn"].items():
            value = subject.get(field)
            presence = rule["presence"]
            if presence in ("STATIC", "FORBIDDEN") and value is not None:
                raise Problem(422, f"subject_dn.{field} is {presence} in this policy")
            if presence == "REQUIRED" and not value:
                raise Problem(422, f"subject_dn.{field} is required")
            if value and rule["format"] and not re.fullmatch(rule["format"], str(value)):
                raise Problem(422, f"subject_dn.{field} does not match {rule['format']}")
        unknown = set(subject) - set(self.policy["subject_dn"])
        if unknown:
            raise Problem(422, f"unknown subject_dn fields: {sorted(unknown)}")

    def _public_key(self, body: dict[str, Any]) -> Any:
        rules = self.policy["public_key"]
        text = str(body.get("public_key", "")).encode()
        if rules["key_format"] == "PKCS10":
            if b"CERTIFICATE REQUEST" not in text:
                raise Problem(422, "public_key must be a PKCS#10 CSR in this policy")
            csr = x509.load_pem_x509_csr(text)
            if not csr.is_signature_valid:
                raise Problem(422, "CSR signature invalid")
            key = csr.public_key()
        else:
            if b"PUBLIC KEY" not in text:
                raise Problem(422, "public_key must be a PKCS#8 public key in this policy")
            loaded = serialization.load_pem_public_key(text)
            if not isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                raise Problem(422, "unsupported key type")
            key = loaded
        kind = "RSA" if isinstance(key, rsa.RSAPublicKey) else "ECDSA"
        if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise Problem(422, "unsupported key type")
        if kind != rules["key_type"] or key.key_size not in rules["allowed_lengths"]:
            raise Problem(422, f"key {kind} {key.key_size} not allowed")
        self._check_key_signature(body, key)
        return key

    def _check_key_signature(self, body: dict[str, Any], key: Any) -> None:
        rule = self.policy["public_key_signature"]
        signature = body.get("public_key_signature")
        if rule == "FORBIDDEN" and signature is not None:
            raise Problem(422, "public_key_signature is forbidden in this policy")
        if rule != "REQUIRED":
            return
        if not signature:
            if self.policy["public_key"]["key_format"] == "PKCS10":
                return  # the CSR's self-signature, verified above, proves possession
            raise Problem(422, "public_key_signature is required")
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(base64.b64decode(signature), der, padding.PKCS1v15(), hashes.SHA256())
            else:
                key.verify(base64.b64decode(signature), der, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError) as exc:
            raise Problem(422, "public_key_signature does not verify") from exc

    def _sign(self, body: dict[str, Any], public_key: Any, now: datetime) -> x509.Certificate:
        validity = body["validity"]
        not_before = datetime.fromtimestamp(validity["not_before"], UTC)
        seconds = validity["not_after"] - validity["not_before"]
        if not validity["not_after"]:
            seconds = self.policy["validity"]["secondsmax"]
        subject = {**(body.get("subject_dn") or {}), **self._static_subject()}
        attributes = [
            x509.NameAttribute(oid, str(subject[field]))
            for field, oid in SUBJECT_OIDS.items()
            if subject.get(field)
        ]
        ekus = body.get("extended_key_usages") or self.policy["extended_key_usages"]["ekus"]["list"]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(list(reversed(attributes))))
            .issuer_name(self.issuing.certificate.subject)
            .public_key(public_key)
            .serial_number(secrets.randbits(120) | (1 << 64))
            .not_valid_before(not_before)
            .not_valid_after(not_before + timedelta(seconds=seconds))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(e) for e in ekus]), False)
            .add_extension(self.issuing.key_identifier(), False)
            .add_extension(crl_points(f"{self.crl_base}/crl/issuing.crl"), False)
        )
        emails = (body.get("san") or {}).get("emails") or []
        if emails:
            names = [x509.RFC822Name(email) for email in emails]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
        return builder.sign(self.issuing.key, hashes.SHA256())

    def _static_subject(self) -> dict[str, str]:
        """Subject fields the policy fixes: the CA fills them in, the client must not."""
        return {
            field: rule["format"]
            for field, rule in self.policy["subject_dn"].items()
            if rule["presence"] == "STATIC"
        }

    # -- ledger -------------------------------------------------------------------------

    def get(self, serial: int) -> Record:
        with self.lock:
            record = self.records.get(serial)
        if record is None:
            raise Problem(404, f"certificate {serial:X} not found")
        return record

    def revoke(self, serial: int, reason: str, now: datetime) -> None:
        with self.lock:
            record = self.get(serial)
            if record.status == "REVOKED":
                raise Problem(409, "certificate already revoked")
            if reason not in REASONS:
                raise Problem(422, f"unknown revocation_reason {reason!r}")
            record.status, record.reason = "REVOKED", reason
            record.revoked_at = now.replace(microsecond=0)
            record.updated_at = int(now.timestamp())
            self._crls.pop("issuing", None)

    def stats(self, kind: str, start: int, end: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            for serial, record in self.records.items():
                at = record.issued_at if kind == "issued" else record.updated_at
                if kind == "revoked" and record.status != "REVOKED":
                    continue
                if kind == "expiring":
                    at = int(record.certificate.not_valid_after_utc.timestamp())
                if start <= at <= end:
                    rows.append(
                        {
                            "serial_number": f"{serial:X}",
                            "not_before": int(record.certificate.not_valid_before_utc.timestamp()),
                            "not_after": int(record.certificate.not_valid_after_utc.timestamp()),
                        }
                    )
            return rows

    def counter(self, kind: str) -> int:
        with self.lock:
            if kind == "issued":
                return len(self.records)
            return sum(1 for record in self.records.values() if record.status == "REVOKED")

    # -- CRLs ---------------------------------------------------------------------------

    def crl(self, which: str, now: datetime) -> bytes:
        """The current DER CRL of ``root`` or ``issuing``, re-signed on change or expiry."""
        with self.lock:
            cached = self._crls.get(which)
            if cached is not None and now < cached[0] - timedelta(hours=CRL_HOURS / 2):
                return cached[1]
            number = self._crl_numbers.get(which, 0) + 1
            self._crl_numbers[which] = number
            der, next_update = self._sign_crl(which, number, now)
            self._crls[which] = (next_update, der)
            return der

    def _sign_crl(self, which: str, number: int, now: datetime) -> tuple[bytes, datetime]:
        authority: Authority = self.root if which == "root" else self.issuing
        revoked = []
        if which == "issuing":
            for serial, record in self.records.items():
                if record.status == "REVOKED" and record.revoked_at and record.reason:
                    entry = x509.RevokedCertificateBuilder(serial, record.revoked_at)
                    if record.reason != "unspecified":
                        entry = entry.add_extension(x509.CRLReason(REASONS[record.reason]), False)
                    revoked.append(entry.build())
        this_update = now.replace(microsecond=0) - timedelta(minutes=5)
        next_update = this_update + timedelta(hours=CRL_HOURS)
        builder = x509.CertificateRevocationListBuilder(
            issuer_name=authority.certificate.subject,
            last_update=this_update,
            next_update=next_update,
            extensions=[
                x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(number)),
                x509.Extension(x509.AuthorityKeyIdentifier.oid, False, authority.key_identifier()),
            ],
            revoked_certificates=revoked,
        )
        crl = builder.sign(authority.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER), next_update
