"""The helpdesk console under ``/console``, on the subscriber pages' web layer (one
template base, one stylesheet, one CSRF helper, one language switch).

``mount`` is called by the API app factory with the same lifecycle, access and directory
objects the JSON API calls (``ConsoleParts``).
"""

from __future__ import annotations

from fastapi import FastAPI

from certsvc.web.console import certificates, find, home, people, signin
from certsvc.web.console.parts import ConsoleParts

__all__ = ["ConsoleParts", "mount"]


def mount(app: FastAPI, parts: ConsoleParts) -> None:
    app.state.console = parts
    for module in (signin, home, find, certificates, people):
        app.include_router(module.router)
