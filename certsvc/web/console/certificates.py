"""``/console/certificates/{serial}``: a certificate's state, dates (business zone), its
chain of predecessors and successors and their audit trail; and what the helpdesk does
with it: reissue (PC or user change, the old one revoked now or at pickup), revoke with
a reason, a new pickup link. Each action is the API's call (``Pickups.defer``,
``Lifecycle.revoke``, ``Pickups.for_certificate``) with the operator as actor
(``console:NAME``) and the form's ticket; reissue and revoke ask for confirmation first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from certsvc.access.scope import require_visible
from certsvc.access.sessions import ActiveSession
from certsvc.domain.certificates import ReissueReason, RevokeOld
from certsvc.domain.policy import RevocationReason
from certsvc.errors import NotFound
from certsvc.lifecycle.pickup import Deferred
from certsvc.web.console.forms import Action, Outcome, TicketFields, perform
from certsvc.web.console.parts import ConsoleDep, ConsoleParts
from certsvc.web.console.session import PATH, signed_in
from certsvc.web.console.view import show
from certsvc.web.i18n import Translator, choose_locale

router = APIRouter(prefix=f"{PATH}/certificates", include_in_schema=False)
REASONS = tuple(reason.value for reason in RevocationReason)
REISSUE_REASONS = tuple(reason.value for reason in ReissueReason)
REVOKE_OLD = tuple(policy.value for policy in RevokeOld)


class ReissueFields(TicketFields):
    reason: str = ""
    revoke_old: str = RevokeOld.ON_PICKUP.value
    new_email: str = ""


class RevokeFields(TicketFields):
    reason: str = ""


def _visible(parts: ConsoleParts, current: ActiveSession, serial: str) -> str:
    """The stored serial if the operator may see it (another tenant's: NotFound)."""
    view = parts.lifecycle.show(serial)
    require_visible(current.principal, view.company_number, "certificate", serial)
    return view.serial or serial


@router.get("/{serial}")
def certificate_page(serial: str, request: Request, parts: ConsoleDep, done: str = "") -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    return _page(request, parts, current, serial, Outcome(done=done))


def _page(
    request: Request,
    parts: ConsoleParts,
    current: ActiveSession,
    serial: str,
    outcome: Outcome,
) -> Response:
    try:
        history = parts.reads.history(_visible(parts, current, serial))
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    t = Translator(choose_locale(request))
    return show(
        request,
        "certificate.html",
        current,
        status=outcome.status,
        history=history,
        cert=history.certificate,
        reason_options=[(value, value) for value in REASONS],
        reissue_options=[(value, t(f"console.reissue.{value}")) for value in REISSUE_REASONS],
        revoke_old_options=[(value, t(f"console.revoke_old.{value}")) for value in REVOKE_OLD],
        errors=outcome.errors,
        general=outcome.general,
        done=outcome.done,
        values=outcome.values,
    )


def _again(
    request: Request,
    parts: ConsoleParts,
    current: ActiveSession,
    serial: str,
    values: dict[str, str],
) -> Callable[[dict[str, str], str, int], Response]:
    def again(errors: dict[str, str], general: str, status: int) -> Response:
        return _page(request, parts, current, serial, Outcome(status, errors, general, "", values))

    return again


@router.post("/{serial}/reissue")
def reissue(
    serial: str, request: Request, parts: ConsoleDep, form: Annotated[ReissueFields, Form()]
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    t = Translator(choose_locale(request))
    try:
        stored = _visible(parts, current, serial)
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    errors = {}
    if form.reason not in REISSUE_REASONS:
        errors["reason"] = t("console.choose")
    if form.revoke_old not in REVOKE_OLD:
        errors["revoke_old"] = t("console.choose")
    if form.reason == ReissueReason.USER_CHANGE.value and not form.new_email.strip():
        errors["new_email"] = t("console.new_email_required")
    view = parts.lifecycle.show(stored)
    consequence = t(
        f"console.reissue.what.{form.revoke_old if form.revoke_old in REVOKE_OLD else 'now'}",
        serial=stored,
        user=view.user_id,
        email=form.new_email.strip() or view.email,
    )
    values = form.values()
    action = Action(
        "reissue",
        values,
        f"{PATH}/certificates/{stored}",
        consequence,
        form.confirm == "yes",
        True,
        errors,
    )

    def run() -> None:
        deferred = Deferred(
            "reissue",
            stored,
            ReissueReason(form.reason),
            RevokeOld(form.revoke_old),
            form.new_email.strip() or None,
        )
        parts.pickups.defer(
            view.company_number,
            view.user_id,
            deferred,
            current.principal.actor(form.ticket.strip()),
        )

    return perform(request, current, action, run, _again(request, parts, current, stored, values))


@router.post("/{serial}/revoke")
def revoke(
    serial: str, request: Request, parts: ConsoleDep, form: Annotated[RevokeFields, Form()]
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    t = Translator(choose_locale(request))
    try:
        stored = _visible(parts, current, serial)
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    errors = {} if form.reason in REASONS else {"reason": t("console.choose")}
    consequence = t("console.revoke.what", serial=stored, reason=form.reason)
    values = form.values()
    action = Action(
        "revoke",
        values,
        f"{PATH}/certificates/{stored}",
        consequence,
        form.confirm == "yes",
        True,
        errors,
    )

    def run() -> None:
        by = current.principal.actor(form.ticket.strip())
        parts.lifecycle.revoke(stored, RevocationReason(form.reason), by)

    return perform(request, current, action, run, _again(request, parts, current, stored, values))


@router.post("/{serial}/pickup")
def pickup_link(
    serial: str, request: Request, parts: ConsoleDep, form: Annotated[TicketFields, Form()]
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    try:
        stored = _visible(parts, current, serial)
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    values = form.values()
    action = Action("pickup", values, f"{PATH}/certificates/{stored}", "")

    def run() -> None:
        parts.pickups.for_certificate(stored, current.principal.actor(form.ticket.strip()))

    return perform(request, current, action, run, _again(request, parts, current, stored, values))
