"""``/console/search``: one box for company number or name, user ID, e-mail, serial or
ticket; results paginated (50 a page) and sortable by any column. A tenant-admin's
search is confined to its tenant (the same scope as its API token)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from certsvc.access.scope import tenant_scope
from certsvc.errors import InputError
from certsvc.lifecycle.console_reads import SearchPage, SearchQuery, SortKey
from certsvc.web.console.parts import ConsoleDep
from certsvc.web.console.session import PATH, signed_in
from certsvc.web.console.view import show
from certsvc.web.i18n import Translator, choose_locale

router = APIRouter(prefix=PATH, include_in_schema=False)
PER_PAGE = 50
SORTS = tuple(key.value for key in SortKey)


@router.get("/search")
def search_page(
    request: Request,
    parts: ConsoleDep,
    q: str = "",
    sort: str = SortKey.COMPANY_NUMBER.value,
    desc: int = 0,
    page: int = 1,
) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    key = SortKey(sort) if sort in SORTS else SortKey.COMPANY_NUMBER
    found: SearchPage | None = None
    error = ""
    if q.strip():
        query = SearchQuery(q, tenant_scope(current.principal), key, desc == 1, page, PER_PAGE)
        try:
            found = parts.reads.search(query)
        except InputError:
            error = Translator(choose_locale(request))("console.search_bad")
    return show(
        request,
        "search.html",
        current,
        status=422 if error else 200,
        error=error,
        q=q,
        sort=key.value,
        desc=desc == 1,
        sorts=SORTS,
        found=found,
    )
