"""``/reset``: the self-service reset of the password and/or the registration number.

The subscriber names themselves (company number, certificate user ID, registered
e-mail) and what to reset; ``Accounts.self_reset`` mails the temporary values to the
registered address (also while the account is locked). The answer page is the same
whatever happened (unknown subscriber, wrong address, reset done), so nobody can use
the page to probe who is registered with which address; only malformed input gets a
message beside its field.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel
from starlette.responses import Response

from certsvc.errors import CertsvcError
from certsvc.web import csrf
from certsvc.web.guard import PartsDep, closed_for_maintenance, refused
from certsvc.web.i18n import Translator, choose_locale
from certsvc.web.parts import SelfResetRequest
from certsvc.web.render import page

router = APIRouter(include_in_schema=False)
TARGETS = ("password", "registration_number", "both")
COMPANY_NUMBER = re.compile(r"[0-9A-Za-z-]{1,32}")
USER_ID = re.compile(r"[\x21-\x7e]{1,64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
ORDER = ("company_number", "user_id", "email", "reset")


class ResetFields(BaseModel):
    """The form's inputs, all optional here so a missing one is a message, not a 422 JSON."""

    company_number: str = ""
    user_id: str = ""
    email: str = ""
    reset: str = "password"
    csrf_token: str = ""


@router.get("/reset")
def reset_form(request: Request, parts: PartsDep) -> Response:
    closed = closed_for_maintenance(request, parts)
    if closed is not None:
        return closed
    return _form(request, {"reset": "password"}, {})


@router.post("/reset")
def reset_submit(
    request: Request, parts: PartsDep, form: Annotated[ResetFields, Form()]
) -> Response:
    closed = closed_for_maintenance(request, parts)
    if closed is not None:
        return closed
    if not csrf.is_valid(request, form.csrf_token):
        return refused(request)
    values = {
        "company_number": form.company_number.strip(),
        "user_id": form.user_id.strip(),
        "email": form.email.strip(),
        "reset": form.reset,
    }
    errors = _check(Translator(choose_locale(request)), values)
    if errors:
        return _form(request, values, errors, status=422)
    wanted = SelfResetRequest(
        values["company_number"], values["user_id"], values["email"], values["reset"]
    )
    try:
        parts.self_reset(wanted)
    except CertsvcError:  # the change gate, a database fault: nothing about the address
        general = Translator(choose_locale(request))("reset.unavailable")
        return _form(request, values, {}, status=503, general=general)
    return page(request, "reset_sent.html", minutes=parts.settings.credentials.self_reset_minutes)


def _check(t: Translator, values: dict[str, str]) -> dict[str, str]:
    """Only the shape of the input: whether it matches anybody is never said."""
    errors: dict[str, str] = {}
    for name in ("company_number", "user_id", "email"):
        if not values[name]:
            errors[name] = t("error.required")
    if values["company_number"] and not COMPANY_NUMBER.fullmatch(values["company_number"]):
        errors["company_number"] = t("reset.bad_company_number")
    if values["user_id"] and not USER_ID.fullmatch(values["user_id"]):
        errors["user_id"] = t("reset.bad_user_id")
    if values["email"] and not EMAIL.fullmatch(values["email"]):
        errors["email"] = t("reset.bad_email")
    if values["reset"] not in TARGETS:
        errors["reset"] = t("reset.choose")
    return errors


def _form(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    general: str = "",
) -> Response:
    first = next((name for name in ORDER if name in errors), None)
    return page(
        request,
        "reset.html",
        status=status,
        values=values,
        errors=errors,
        first_error=first,
        general=general,
        targets=TARGETS,
    )
