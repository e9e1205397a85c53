"""The console's session cookie and the check every console page makes first.

The cookie holds the session token only (its hash is stored): ``HttpOnly``,
``SameSite=Strict``, ``Secure`` when the request came over https, path ``/console``, no
``Max-Age`` (the server ends it: idle and absolute timeouts of ``[console]``). A page
asked for without a live session answers with the sign-in page's address; a session that
must choose a new password sees only the password page.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from certsvc.access.sessions import ActiveSession
from certsvc.errors import AuthenticationFailed
from certsvc.web.console.parts import ConsoleParts

COOKIE = "certsvc_console"
PATH = "/console"


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PATH,
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def active(request: Request, parts: ConsoleParts) -> ActiveSession | None:
    """The live session of this browser, or None (no cookie, ended, timed out)."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    try:
        return parts.sessions.resolve(token)
    except AuthenticationFailed:
        return None


def to_sign_in(request: Request, *, ended: bool) -> Response:
    """303 to the sign-in page, remembering where the operator wanted to go."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"{PATH}/login?next={quote(wanted, safe='')}"
    if ended:
        target += "&ended=1"
    response = RedirectResponse(target, status_code=303)
    clear_cookie(request, response)
    return response


def signed_in(request: Request, parts: ConsoleParts) -> ActiveSession | Response:
    """The operator's session, or the answer that sends the browser to sign in (or to
    the password change a temporary password requires)."""
    current = active(request, parts)
    if current is None:
        return to_sign_in(request, ended=COOKIE in request.cookies)
    if current.must_change_password:
        return RedirectResponse(f"{PATH}/password", status_code=303)
    return current


def safe_next(target: str) -> str:
    """Only a console path may follow the sign-in (never another site)."""
    if target.startswith(PATH) and not target.startswith("//") and "\\" not in target:
        return target
    return PATH
