"""``/gateway/allowlist`` (full list, four formats) and ``/gateway/allowlist/changes``.

Both need a ``gateway`` or ``admin`` token unless ``[gateway] require_token = false``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from certsvc.api.auth import feed_reader
from certsvc.api.conditional import cached_response, not_modified
from certsvc.api.deps import gateway_of
from certsvc.api.problems import problem
from certsvc.feed.changes import MAX_CHANGES, delta

router = APIRouter(tags=["gateway feed"], dependencies=[Depends(feed_reader)])
NOT_LOADED = "the allowlist is still loading"


@router.head("/gateway/allowlist", include_in_schema=False)  # one operation id
@router.get("/gateway/allowlist")
def allowlist(
    request: Request,
    format_: str = Query("json", alias="format", description="json, text, nginx-map, haproxy"),
) -> Response:
    """Every certificate that may log in now; revalidate with If-None-Match for a 304."""
    gateway = gateway_of(request)
    if not gateway.allowlist.loaded:
        return problem(503, "not-ready", NOT_LOADED, {"Retry-After": "1"})
    now = gateway.clock.now()
    headers = {"Cache-Control": "no-cache"}
    etag = gateway.exports.etag(format_, now)
    if not_modified(request, etag, None):
        return Response(status_code=304, headers={"ETag": etag, **headers})
    rendered = gateway.exports.render(format_, now)
    headers["X-Feed-Version"] = str(rendered.version)
    return cached_response(
        request,
        rendered.body,
        rendered.media_type,
        etag=rendered.etag,
        last_modified=None,
        headers=headers,
    )


@router.get("/gateway/allowlist/changes")
def changes(
    request: Request,
    since: int = Query(ge=0, description="the version the client has"),
    limit: int = Query(MAX_CHANGES, ge=1, le=MAX_CHANGES),
) -> Response:
    """Adds and removes after ``since``; 410 when the log no longer reaches back that far."""
    gateway = gateway_of(request)
    if not gateway.allowlist.loaded:
        return problem(503, "not-ready", NOT_LOADED, {"Retry-After": "1"})
    with gateway.sessions() as session:
        found = delta(session, since, gateway.allowlist.version, gateway.clock.now(), limit)
    if found is None:
        detail = f"version {since} is not in the change log: fetch /gateway/allowlist again"
        return problem(410, "gone", detail)
    return JSONResponse(found.to_dict(), headers={"Cache-Control": "no-cache"})
