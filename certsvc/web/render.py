"""Rendering a page: Jinja2 (autoescaped) over ``templates/``, with the headers every page
carries (a strict Content-Security-Policy, no framing, no referrer: the pickup URL holds
a secret) and ``Cache-Control: no-store`` where a page or answer holds one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from certsvc.web import csrf
from certsvc.web.i18n import COOKIE, LOCALES, Translator, choose_locale

TEMPLATES = Path(__file__).parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def secure(response: Response, *, secret: bool) -> Response:
    """The headers of every page; ``secret``: never stored by a browser or a proxy."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store" if secret else "no-cache"
    return response


def page(
    request: Request, template: str, *, status: int = 200, secret: bool = True, **context: Any
) -> Response:
    """Render ``template`` in the reader's language, with a CSRF token for its forms."""
    locale = choose_locale(request)
    token = csrf.token_for(request)
    html = ENVIRONMENT.get_template(template).render(
        t=Translator(locale),
        locale=locale,
        other_locales=[code for code in LOCALES if code != locale],
        path=request.url.path,
        csrf_field=csrf.FIELD,
        csrf_token=token,
        **({"static_root": _static_root(request.url.path)} | context),
    )
    response = HTMLResponse(html, status_code=status)
    csrf.remember(request, response, token)
    if request.query_params.get("lang") == locale:
        response.set_cookie(COOKIE, locale, samesite="lax", path="/", max_age=365 * 86400)
    return secure(response, secret=secret)


def _static_root(path: str) -> str:
    """Through the gateway only ``/renew...`` reaches certsvc: those pages' assets too."""
    return "/renew/static" if path.startswith("/renew") else "/static"


def local_time(instant: datetime | str, locale: str) -> str:
    """An instant as the reader writes it, in the business zone it was given in."""
    value = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    if locale == "ja":
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
    return f"{value.day} {value:%B %Y}, {value:%H:%M}"


ENVIRONMENT.filters["local_time"] = local_time
