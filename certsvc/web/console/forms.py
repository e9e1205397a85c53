"""What every console form shares: the ticket (required: every change is traceable to
the request it answers), the confirmation step of destructive actions, and the mapping
of the lower layers' refusals onto the page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from certsvc.access.sessions import ActiveSession
from certsvc.errors import CertsvcError, Conflict, InputError, MaintenanceWindow, NotFound
from certsvc.web import csrf
from certsvc.web.console.view import maintenance, show
from certsvc.web.guard import refused
from certsvc.web.i18n import Translator, choose_locale

MAX_TICKET = 128


@dataclass(frozen=True)
class Action:
    """One submitted action: its fields, whether the confirmation was given, where the
    page goes back to, and what the confirmation page says will happen."""

    name: str
    fields: dict[str, str]
    back: str
    consequence: str
    confirmed: bool = False
    destructive: bool = False
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a page shows after a submission: its status, messages and what was typed."""

    status: int = 200
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""
    done: str = ""
    values: dict[str, str] = field(default_factory=dict)


def ticket_error(t: Translator, ticket: str) -> str | None:
    text = ticket.strip()
    if not text:
        return t("console.ticket_required")
    if len(text) > MAX_TICKET or any(ord(ch) < 32 for ch in text):
        return t("console.ticket_bad", max=MAX_TICKET)
    return None


def perform(
    request: Request,
    current: ActiveSession,
    action: Action,
    run: Callable[[], object],
    again: Callable[[dict[str, str], str, int], Response],
) -> Response:
    """Check CSRF and ticket, ask for confirmation if destructive, then ``run`` it.

    ``again(errors, message, status)`` re-renders the page the form was on.
    """
    if not csrf.is_valid(request, action.fields.get(csrf.FIELD, "")):
        return refused(request)
    t = Translator(choose_locale(request))
    errors = dict(action.errors)
    problem = ticket_error(t, action.fields.get("ticket", ""))
    if problem:
        errors["ticket"] = problem
    if errors:
        return again(_keyed(action, errors), "", 422)
    if action.destructive and not action.confirmed:
        return show(request, "confirm.html", current, action=action, path_to=request.url.path)
    refusal = _run(request, current, action, run, again)
    if refusal is not None:
        return refusal
    return RedirectResponse(f"{action.back}?done={action.name}", status_code=303)


def _run(
    request: Request,
    current: ActiveSession,
    action: Action,
    run: Callable[[], object],
    again: Callable[[dict[str, str], str, int], Response],
) -> Response | None:
    """Run the change; a refusal of the layers below becomes the page that says why."""
    t = Translator(choose_locale(request))
    try:
        run()
    except MaintenanceWindow as error:
        return maintenance(request, error)
    except NotFound:
        return show(request, "notfound.html", current, status=404)
    except InputError as error:
        message = t.rule(str(error))
        if error.field in action.fields:
            return again(_keyed(action, {str(error.field): message}), "", 422)
        return again({}, message, 422)
    except CertsvcError as error:  # a clash with the state (409) or a part unavailable
        return again({}, str(error), 409 if isinstance(error, Conflict) else 503)
    return None


class TicketFields(BaseModel):
    """The fields of every console form (all optional here, so a missing one is a
    message beside its field, never a JSON 422)."""

    ticket: str = ""
    confirm: str = ""
    csrf_token: str = ""

    def values(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.model_dump().items()}


def _keyed(action: Action, errors: dict[str, str]) -> dict[str, str]:
    """Errors by the id of their input (``{action}-{field}``: a page has several forms)."""
    return {f"{action.name}-{name}": message for name, message in errors.items()}
