"""``/renew``: renewal for a subscriber who arrives through the gateway with the current,
still-valid certificate, with only the password.

The gateway (``certsvc gateway-config nginx``) routes ``/renew`` here with two headers
it sets itself, overwriting whatever the client sent: ``X-Client-Cert``, the verified
client certificate (nginx ``$ssl_client_escaped_cert``, URL-escaped PEM), and
``Authorization: Bearer <gateway token>``, the token of role ``gateway`` the gateway
already holds for ``/gateway/check``. Without a valid gateway token the certificate
header means nothing (anyone can send a certificate, which is public), so the page
refuses. Everything else is ``HeldRenewals`` and the pickup page's delivery.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Form, Request, UploadFile
from starlette.responses import Response

from certsvc.access.accounts import Login
from certsvc.access.feed_tokens import FEED_ROLES
from certsvc.domain.public_address import public_address
from certsvc.errors import AuthenticationFailed, CertsvcError, Conflict, InputError, NotFound
from certsvc.lifecycle.held_renewal import HeldCertificate, HeldRenewals
from certsvc.lifecycle.operations import CsrKey, KeySource, ServerKey
from certsvc.web import csrf
from certsvc.web.guard import PartsDep, closed_for_maintenance, parts_of, refused
from certsvc.web.i18n import Translator, choose_locale
from certsvc.web.parts import WebParts
from certsvc.web.pickup import Attempt, PickupFields, _delivered, _place
from certsvc.web.render import page

router = APIRouter(include_in_schema=False)
CERT_HEADER = "x-client-cert"

STATIC_ROOT = "/renew/static"
"""Through the gateway only ``/renew...`` reaches certsvc, so the page's assets live there."""


def presented(request: Request, parts: WebParts) -> bytes | str:
    """The DER of the certificate the gateway verified, or why it cannot be trusted."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return "not_gateway"
    try:
        principal = parts.tokens.authenticate(secret.strip())
    except AuthenticationFailed:
        return "not_gateway"
    if principal.role not in FEED_ROLES:
        return "not_gateway"
    escaped = request.headers.get(CERT_HEADER, "")
    try:
        certificate = x509.load_pem_x509_certificate(unquote_to_bytes(escaped))
    except ValueError:
        return "no_certificate"
    return certificate.public_bytes(Encoding.DER)


def _held(request: Request, parts: WebParts) -> tuple[bytes, HeldCertificate] | Response:
    der = presented(request, parts)
    if isinstance(der, str):
        return _refusal(request, der, 403)
    try:
        return der, HeldRenewals(parts.pickups).show(der)
    except NotFound:
        return _refusal(request, "not_ours", 403)
    except Conflict:
        return _refusal(request, "not_renewable", 409)


@router.get("/renew/installed")
def installed(request: Request) -> Response:
    """The install steps after the renewed PKCS#12 (reachable through the gateway)."""
    return page(request, "install.html", secret=False, delivery="pkcs12", renewal=True)


@router.get("/renew")
def renew_form(request: Request, parts: PartsDep) -> Response:
    closed = closed_for_maintenance(request, parts)
    if closed is not None:
        return closed
    held = _held(request, parts)
    if isinstance(held, Response):
        return held
    return _form(request, held[1], Attempt({"delivery": "pkcs12"}))


@router.post("/renew")
def renew_submit(
    request: Request, parts: PartsDep, form: Annotated[PickupFields, Form()]
) -> Response:
    closed = closed_for_maintenance(request, parts)
    if closed is not None:
        return closed
    if not csrf.is_valid(request, form.csrf_token):
        return refused(request)
    held = _held(request, parts)
    if isinstance(held, Response):
        return held
    (der, info), t = held, Translator(choose_locale(request))
    attempt = _check(t, form)
    key = _renewal_key(t, attempt, form.csr)
    if attempt.errors or key is None:
        return _form(request, info, attempt, status=422)
    login = Login(info.user_id, form.password, "", form.new_password or None, _client(request))
    return _renew(request, parts, (der, info), (login, key), attempt)


def _renew(
    request: Request,
    parts: WebParts,
    held: tuple[bytes, HeldCertificate],
    order: tuple[Login, KeySource],
    attempt: Attempt,
) -> Response:
    """Log in and renew; every refusal re-renders the form with the fresh facts."""
    t = Translator(choose_locale(request))
    (der, info), (login, key) = held, order
    try:
        collected = HeldRenewals(parts.pickups).renew(der, login, key)
    except AuthenticationFailed:
        attempt.general = t("login.failed_password")
        return _form(request, _fresh(parts, der, info), attempt, status=401)
    except InputError as error:
        _place(t, attempt, error)
        return _form(request, _fresh(parts, der, info), attempt, status=422)
    except CertsvcError:
        attempt.general = t("error.unavailable")
        return _form(request, info, attempt, status=503)
    return _delivered(request, parts, collected, (info.user_id, "renew"))


def _renewal_key(t: Translator, attempt: Attempt, upload: UploadFile | None) -> KeySource | None:
    """The key choice of the pickup page (a renewal always needs one)."""
    if attempt.values["delivery"] == "pkcs12":
        return ServerKey(b"")  # protected by the subscriber's password once logged in
    pem = upload.file.read() if upload is not None else b""
    if attempt.values["delivery"] == "csr" and not pem.strip():
        attempt.errors["csr"] = t("delivery.csr_missing")
    return CsrKey(pem) if pem.strip() else None


def _check(t: Translator, form: PickupFields) -> Attempt:
    typed = (form.new_password, form.new_password_confirm)
    attempt = Attempt({"delivery": form.delivery}, needs_new_password=any(typed))
    if not form.password:
        attempt.errors["password"] = t("error.required")
    if attempt.needs_new_password and typed[0] != typed[1]:
        attempt.errors["new_password_confirm"] = t("password.mismatch")
    if form.delivery not in ("pkcs12", "csr"):
        attempt.errors["delivery"] = t("delivery.choose")
    return attempt


def _fresh(parts: WebParts, der: bytes, info: HeldCertificate) -> HeldCertificate:
    """The facts again after a refusal (the lock may have closed)."""
    try:
        return HeldRenewals(parts.pickups).show(der)
    except CertsvcError:
        return info


def _client(request: Request) -> str | None:
    forwarded = request.headers.get("x-forwarded-for", "")
    return forwarded.split(",")[0].strip() or (request.client.host if request.client else None)


def _refusal(request: Request, why: str, status: int) -> Response:
    return page(request, "renew_refused.html", status=status, why=why)


def _form(request: Request, info: HeldCertificate, attempt: Attempt, status: int = 200) -> Response:
    order = ("password", "new_password", "new_password_confirm", "delivery", "csr")
    first = next((name for name in order if name in attempt.errors), None)
    return page(
        request,
        "renew.html",
        status=status,
        info=info,
        values=attempt.values,
        errors=attempt.errors,
        first_error=first,
        general=attempt.general,
        needs_new_password=attempt.needs_new_password,
        # through the gateway only /renew reaches certsvc: the reset page by its public address
        reset_href=f"{public_address(parts_of(request).settings).origin}/reset",
    )
