"""CSRF protection for every form: a double-submit cookie.

A GET that renders a form sets a random token in a ``SameSite=Strict`` cookie and the
same value in the form's hidden ``csrf_token`` input; a POST is refused unless both are
present and equal. Another site can make a browser send the cookie but cannot read it,
so it cannot fill the field. The helpdesk console uses the same two functions.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "certsvc_csrf"
FIELD = "csrf_token"


def token_for(request: Request) -> str:
    """The browser's token (kept across forms), or a new one."""
    known = request.cookies.get(COOKIE, "")
    return known if len(known) == 43 else secrets.token_urlsafe(32)


def remember(request: Request, response: Response, token: str) -> None:
    """Set the cookie that a later POST must echo in ``csrf_token``."""
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def is_valid(request: Request, submitted: object) -> bool:
    """Both the cookie and the form field, equal (constant-time)."""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
