"""``/console/tenants/{company}`` and ``.../subscribers/{user_id}``: a tenant with its
subscribers and its representative administrator (changed by an admin; both addresses
are told), a subscriber with its certificates, the lock and when it lifts, a credentials
reset (temporary values go only to the subscriber's mail) and "no certificate".

The calls are the API's: ``Directory.change_administrator``, ``Accounts.reset(...,
helpdesk=...)`` (the helpdesk resets only on its working days) and
``Directory.mark_no_certificate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from certsvc.access.credentials import ResetTarget
from certsvc.access.scope import require_visible
from certsvc.access.sessions import ActiveSession
from certsvc.errors import NotFound
from certsvc.web.console.forms import Action, TicketFields, perform
from certsvc.web.console.parts import ConsoleDep, ConsoleParts
from certsvc.web.console.session import PATH, signed_in
from certsvc.web.console.view import show
from certsvc.web.i18n import Translator, choose_locale

router = APIRouter(prefix=f"{PATH}/tenants", include_in_schema=False)
RESETS = tuple(target.value for target in ResetTarget)


class ResetFields(TicketFields):
    reset: str = ResetTarget.BOTH.value


class AdministratorFields(TicketFields):
    name: str = ""
    email: str = ""


@router.get("/{company}")
def tenant_page(company: str, request: Request, parts: ConsoleDep, done: str = "") -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    return _tenant(request, parts, current, company, done=done)


def _tenant(
    request: Request,
    parts: ConsoleParts,
    current: ActiveSession,
    company: str,
    *,
    status: int = 200,
    done: str = "",
    errors: dict[str, str] | None = None,
    general: str = "",
) -> Response:
    try:
        require_visible(current.principal, company, "tenant", company)
        tenant = parts.directory.show_tenant(company)
        subscribers = parts.directory.list_subscribers(company)
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    return show(
        request,
        "tenant.html",
        current,
        status=status,
        tenant=tenant,
        subscribers=subscribers,
        done=done,
        errors=errors or {},
        general=general,
    )


@router.post("/{company}/administrator")
def change_administrator(
    company: str,
    request: Request,
    parts: ConsoleDep,
    form: Annotated[AdministratorFields, Form()],
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    t = Translator(choose_locale(request))

    def again(errors: dict[str, str], general: str, status: int) -> Response:
        return _tenant(
            request, parts, current, company, status=status, errors=errors, general=general
        )

    if current.principal.role != "admin":
        return again({}, t("console.admin_only"), 403)
    consequence = t("console.admin.what", name=form.name, email=form.email)
    action = Action(
        "administrator",
        form.values(),
        f"{PATH}/tenants/{company}",
        consequence,
        form.confirm == "yes",
        True,
    )

    def run() -> None:
        by = current.principal.actor(form.ticket.strip())
        parts.directory.change_administrator(company, form.name.strip(), form.email.strip(), by)

    return perform(request, current, action, run, again)


@router.get("/{company}/subscribers/{user_id}")
def subscriber_page(
    company: str, user_id: str, request: Request, parts: ConsoleDep, done: str = ""
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    return _subscriber(request, parts, current, (company, user_id), done=done)


def _subscriber(
    request: Request,
    parts: ConsoleParts,
    current: ActiveSession,
    who: tuple[str, str],
    *,
    status: int = 200,
    done: str = "",
    errors: dict[str, str] | None = None,
    general: str = "",
) -> Response:
    company, user_id = who
    try:
        require_visible(current.principal, company, "subscriber", f"{company}/{user_id}")
        subscriber = parts.directory.show_subscriber(company, user_id)
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    return show(
        request,
        "subscriber.html",
        current,
        status=status,
        subscriber=subscriber,
        certificates=parts.reads.certificates_of(company, user_id),
        resets=RESETS,
        done=done,
        errors=errors or {},
        general=general,
    )


def _again_subscriber(
    request: Request, parts: ConsoleParts, current: ActiveSession, who: tuple[str, str]
) -> Callable[[dict[str, str], str, int], Response]:
    def again(errors: dict[str, str], general: str, status: int) -> Response:
        return _subscriber(
            request, parts, current, who, status=status, errors=errors, general=general
        )

    return again


@router.post("/{company}/subscribers/{user_id}/reset")
def reset_credentials(
    company: str,
    user_id: str,
    request: Request,
    parts: ConsoleDep,
    form: Annotated[ResetFields, Form()],
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    t = Translator(choose_locale(request))
    errors = {} if form.reset in RESETS else {"reset": t("console.choose")}
    back = f"{PATH}/tenants/{company}/subscribers/{user_id}"
    consequence = t("console.reset.what", user=user_id)
    action = Action("reset", form.values(), back, consequence, form.confirm == "yes", True, errors)

    def run() -> None:
        require_visible(current.principal, company, "subscriber", f"{company}/{user_id}")
        by = current.principal.actor(form.ticket.strip())
        helpdesk = current.principal.role == "helpdesk"
        parts.accounts.reset(company, user_id, by, helpdesk=helpdesk, what=ResetTarget(form.reset))

    again = _again_subscriber(request, parts, current, (company, user_id))
    return perform(request, current, action, run, again)


@router.post("/{company}/subscribers/{user_id}/no-certificate")
def no_certificate(
    company: str,
    user_id: str,
    request: Request,
    parts: ConsoleDep,
    form: Annotated[TicketFields, Form()],
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    t = Translator(choose_locale(request))
    back = f"{PATH}/tenants/{company}/subscribers/{user_id}"
    consequence = t("console.no_certificate.what", user=user_id)
    action = Action("no_certificate", form.values(), back, consequence, form.confirm == "yes", True)

    def run() -> None:
        require_visible(current.principal, company, "subscriber", f"{company}/{user_id}")
        by = current.principal.actor(form.ticket.strip())
        parts.directory.mark_no_certificate(company, user_id, by)

    again = _again_subscriber(request, parts, current, (company, user_id))
    return perform(request, current, action, run, again)
