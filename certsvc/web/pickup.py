"""``/pickup/{token}``: the page behind the mailed link (pickup and renewal alike).

It calls what ``/api/v1/pickup`` calls (``Pickups.show`` and ``Pickups.redeem``): the
page only turns form fields into a ``Login`` and a key choice, and errors into messages
beside their fields. A PKCS#12 is the POST's answer (a download); with JavaScript the
page then moves on to the install steps, without it the page links to them.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from fastapi import APIRouter, Form, Request, UploadFile
from pydantic import BaseModel
from starlette.responses import Response

from certsvc.access.accounts import Login
from certsvc.errors import AuthenticationFailed, CertsvcError, InputError, NotFound
from certsvc.lifecycle.operations import CsrKey, KeySource, ServerKey
from certsvc.lifecycle.pickup import Collected, PickupInfo
from certsvc.web import csrf
from certsvc.web.guard import PartsDep, closed_for_maintenance, refused
from certsvc.web.i18n import Translator, choose_locale
from certsvc.web.parts import WebParts
from certsvc.web.render import page, secure

router = APIRouter(include_in_schema=False)
CHALLENGE = re.compile(r"[0-9]{4}")
RENEWALS = ("renew", "reissue")


class PickupFields(BaseModel):
    """The form's inputs (names pinned for tools that drive the page); all optional here,
    so a missing one is a message beside its field, not a JSON 422."""

    user_id: str = ""
    password: str = ""
    challenge: str = ""
    new_password: str = ""
    new_password_confirm: str = ""
    delivery: str = ""
    csr: UploadFile | None = None
    csrf_token: str = ""


@dataclass
class Attempt:
    """What the subscriber sent, and what is wrong with it (field -> message)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""
    needs_new_password: bool = False


@router.get("/pickup/install")
def install_steps(request: Request, renewal: int = 0) -> Response:
    """The install steps after a PKCS#12 download (no secret on this page)."""
    return page(request, "install.html", secret=False, delivery="pkcs12", renewal=renewal == 1)


@router.get("/pickup/{token}")
def pickup_form(token: str, request: Request, parts: PartsDep) -> Response:
    closed = closed_for_maintenance(request, parts)
    if closed is not None:
        return closed
    try:
        info = parts.pickups.show(token)
    except NotFound:
        return page(request, "gone.html", status=404)
    return _form(request, info, Attempt({}))


@router.post("/pickup/{token}")
def pickup_submit(
    token: str, request: Request, parts: PartsDep, form: Annotated[PickupFields, Form()]
) -> Response:
    closed = closed_for_maintenance(request, parts)
    if closed is not None:
        return closed
    if not csrf.is_valid(request, form.csrf_token):
        return refused(request)
    try:
        info = parts.pickups.show(token)
    except NotFound:
        return page(request, "gone.html", status=404)
    t = Translator(choose_locale(request))
    values = {"user_id": form.user_id.strip(), "delivery": form.delivery}
    typed = (form.password, form.challenge, form.new_password, form.new_password_confirm)
    attempt = _check(t, info, values, typed)
    key = _key(t, info, attempt, form.csr)
    if attempt.errors:
        return _form(request, info, attempt, status=422)
    login = Login(values["user_id"], form.password, form.challenge, form.new_password or None)
    return _redeem(request, parts, (token, info.action), (login, key), attempt)


def _check(
    t: Translator, info: PickupInfo, values: dict[str, str], typed: tuple[str, ...]
) -> Attempt:
    """The checks a form can make alone; the credentials are the lifecycle's to judge."""
    password, challenge, new_password, confirm = typed
    attempt = Attempt(values, needs_new_password=bool(new_password or confirm))
    if not values["user_id"]:
        attempt.errors["user_id"] = t("error.required")
    if not password:
        attempt.errors["password"] = t("error.required")
    if not CHALLENGE.fullmatch(challenge):
        attempt.errors["challenge"] = t("error.challenge")
    if attempt.needs_new_password and new_password != confirm:
        attempt.errors["new_password_confirm"] = t("password.mismatch")
    if info.key_required and values["delivery"] not in ("pkcs12", "csr"):
        attempt.errors["delivery"] = t("delivery.choose")
    return attempt


def _key(
    t: Translator, info: PickupInfo, attempt: Attempt, upload: UploadFile | None
) -> KeySource | None:
    if not info.key_required:
        return None
    if attempt.values["delivery"] == "pkcs12":
        return ServerKey(b"")  # protected by the subscriber's password once logged in
    pem = upload.file.read() if upload is not None else b""
    if attempt.values["delivery"] == "csr" and not pem.strip():
        attempt.errors["csr"] = t("delivery.csr_missing")
    return CsrKey(pem)


def _redeem(
    request: Request,
    parts: WebParts,
    link: tuple[str, str],
    order: tuple[Login, KeySource | None],
    attempt: Attempt,
) -> Response:
    """Log in and collect; every refusal re-renders the form with the link's fresh state."""
    t = Translator(choose_locale(request))
    (token, action), (login, key) = link, order
    try:
        collected = parts.pickups.redeem(token, login, key)
    except NotFound:
        return page(request, "gone.html", status=404)
    except AuthenticationFailed:
        attempt.general = t("login.failed")
        return _form(request, parts.pickups.show(token), attempt, status=401)
    except InputError as error:
        _place(t, attempt, error)
        return _form(request, parts.pickups.show(token), attempt, status=422)
    except CertsvcError:
        attempt.general = t("error.unavailable")
        return _form(request, parts.pickups.show(token), attempt, status=503)
    return _delivered(request, parts, collected, (login.user_id, action))


def _place(t: Translator, attempt: Attempt, error: InputError) -> None:
    """An error of the lifecycle beside the field it names."""
    if error.field == "new_password" and not attempt.needs_new_password:
        attempt.needs_new_password = True
        attempt.general = t("password.must_change")
        attempt.errors["new_password"] = t("password.rules")
    elif error.field in ("new_password", "password") and attempt.needs_new_password:
        attempt.errors["new_password"] = t.rule(str(error))
    elif error.field == "csr":
        attempt.errors["csr"] = t.rule(str(error))
    else:
        attempt.general = t.rule(str(error))


def _delivered(
    request: Request, parts: WebParts, collected: Collected, who: tuple[str, str]
) -> Response:
    user_id, action = who
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", user_id) or "certificate"
    if collected.pkcs12 is not None:
        disposition = f'attachment; filename="{filename}.p12"'
        answer = Response(
            collected.pkcs12,
            media_type="application/x-pkcs12",
            headers={"Content-Disposition": disposition},
        )
        return secure(answer, secret=True)
    certificate = x509.load_pem_x509_certificate(collected.certificate_pem.encode())
    chain = pkcs7.serialize_certificates([certificate, *parts.trust_chain()], Encoding.DER)
    return page(
        request,
        "install.html",
        delivery="csr",
        renewal=action in RENEWALS,
        serial=collected.certificate.serial,
        filename=filename,
        cer_href=_data_url("application/pkix-cert", certificate.public_bytes(Encoding.DER)),
        chain_href=_data_url("application/pkcs7-mime", chain),
    )


def _data_url(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def _form(request: Request, info: PickupInfo, attempt: Attempt, status: int = 200) -> Response:
    order = ("user_id", "password", "challenge", "new_password", "new_password_confirm")
    first = next((name for name in (*order, "delivery", "csr") if name in attempt.errors), None)
    return page(
        request,
        "pickup.html",
        status=status,
        info=info,
        values=attempt.values,
        errors=attempt.errors,
        first_error=first,
        general=attempt.general,
        needs_new_password=attempt.needs_new_password,
    )
