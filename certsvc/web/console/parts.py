"""What the console pages work with, handed over by the app factory (``app.state.console``):
the same lifecycle, access and directory objects the JSON API calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from certsvc.access.accounts import Accounts
from certsvc.access.sessions import ConsoleSessions
from certsvc.directory import Directory
from certsvc.lifecycle.console_reads import ConsoleReads
from certsvc.lifecycle.operations import Lifecycle
from certsvc.lifecycle.pickup import Pickups


@dataclass(frozen=True)
class ConsoleParts:
    sessions: ConsoleSessions
    reads: ConsoleReads
    lifecycle: Lifecycle
    pickups: Pickups
    accounts: Accounts
    directory: Directory


def console_of(request: Request) -> ConsoleParts:
    parts: ConsoleParts = request.app.state.console
    return parts


ConsoleDep = Annotated[ConsoleParts, Depends(console_of)]
