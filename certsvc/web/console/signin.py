"""``/console/login``, ``/console/logout``, ``/console/password``: an operator's sign-in.

The form's inputs are pinned (``username``, ``password``, ``totp``). Every failure gets
one message (it never says which part was wrong, nor whether the name exists); that
message names the lock rule, since the sessions module locks after repeated failures.
A temporary password (first sign-in, after a reset, after expiry) leads to the password
page and nowhere else until a new one is chosen.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from certsvc.access.sessions import SignIn
from certsvc.errors import AuthenticationFailed, InputError
from certsvc.web import csrf
from certsvc.web.console.parts import ConsoleDep
from certsvc.web.console.session import (
    COOKIE,
    PATH,
    active,
    clear_cookie,
    safe_next,
    set_cookie,
)
from certsvc.web.console.view import show
from certsvc.web.guard import refused
from certsvc.web.i18n import Translator, choose_locale

router = APIRouter(prefix=PATH, include_in_schema=False)


class SignInFields(BaseModel):
    username: str = ""
    password: str = ""
    totp: str = ""
    next: str = PATH
    csrf_token: str = ""


class PasswordFields(BaseModel):
    current_password: str = ""
    new_password: str = ""
    new_password_confirm: str = ""
    csrf_token: str = ""


@router.get("/login")
def login_form(request: Request, next: str = PATH, ended: int = 0) -> Response:
    t = Translator(choose_locale(request))
    notice = t("console.session_ended") if ended == 1 else ""
    return show(
        request, "login.html", None, values={}, errors={}, general="", notice=notice, next=next
    )


@router.post("/login")
def login_submit(
    request: Request, parts: ConsoleDep, form: Annotated[SignInFields, Form()]
) -> Response:
    if not csrf.is_valid(request, form.csrf_token):
        return refused(request)
    t = Translator(choose_locale(request))
    values = {"username": form.username.strip()}
    errors = {
        name: t("error.required")
        for name, value in (("username", values["username"]), ("password", form.password))
        if not value
    }
    if not form.totp.strip().isdigit() or len(form.totp.strip()) != 6:
        errors["totp"] = t("console.totp_digits")
    if errors:
        return _again(request, values, errors, "", form.next, 422)
    try:
        signed = parts.sessions.sign_in(SignIn(values["username"], form.password, form.totp))
    except AuthenticationFailed:
        return _again(request, values, {}, t("console.sign_in_failed"), form.next, 401)
    target = f"{PATH}/password" if signed.must_change_password else safe_next(form.next)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, signed.token)
    return response


def _again(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    general: str,
    target: str,
    status: int,
) -> Response:
    return show(
        request,
        "login.html",
        None,
        status=status,
        values=values,
        errors=errors,
        general=general,
        notice="",
        next=safe_next(target),
    )


@router.post("/logout")
def logout(
    request: Request, parts: ConsoleDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    if not csrf.is_valid(request, csrf_token):
        return refused(request)
    token = request.cookies.get(COOKIE, "")
    if token:
        parts.sessions.sign_out(token)
    response = RedirectResponse(f"{PATH}/login", status_code=303)
    clear_cookie(request, response)
    return response


@router.get("/password")
def password_form(request: Request, parts: ConsoleDep) -> Response:
    current = active(request, parts)
    if current is None:
        return RedirectResponse(f"{PATH}/login", status_code=303)
    return show(
        request, "password.html", current, errors={}, general="", must=current.must_change_password
    )


@router.post("/password")
def password_submit(
    request: Request, parts: ConsoleDep, form: Annotated[PasswordFields, Form()]
) -> Response:
    current = active(request, parts)
    if current is None:
        return RedirectResponse(f"{PATH}/login", status_code=303)
    if not csrf.is_valid(request, form.csrf_token):
        return refused(request)
    t = Translator(choose_locale(request))
    errors: dict[str, str] = {}
    if form.new_password != form.new_password_confirm:
        errors["new_password_confirm"] = t("password.mismatch")
    else:
        try:
            parts.sessions.change_password(
                request.cookies[COOKIE], form.current_password, form.new_password
            )
        except AuthenticationFailed:
            errors["current_password"] = t("console.current_wrong")
        except InputError as error:
            errors["new_password"] = t.rule(str(error))
    if errors:
        must = current.must_change_password
        return show(
            request, "password.html", current, status=422, errors=errors, general="", must=must
        )
    return RedirectResponse(PATH, status_code=303)
