"""Options shared by commands: ``--now ISO8601`` for cron and tests, and choices that are
``StrEnum`` values (``--revoke-old on-pickup``), handed to the command as members."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import click

from certsvc.clock import parse_instant

FC = TypeVar("FC", bound=Callable[..., Any])
S = TypeVar("S", bound=StrEnum)


class ValueChoice(click.Choice[str]):
    """A choice among a ``StrEnum``'s values (click's own enum choice offers the names)."""

    def __init__(self, kind: type[S]) -> None:
        super().__init__([member.value for member in kind])
        self.kind: type[StrEnum] = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return self.kind(super().convert(value, param, ctx))


class Instant(click.ParamType[datetime]):
    """An ISO 8601 instant with an offset; naive times are refused (their zone is a guess)."""

    name = "ISO8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def now_option(
    help_text: str = "Act as if it were this instant (with offset).",
) -> Callable[[FC], FC]:
    return click.option("--now", "now", type=Instant(), default=None, help=help_text)
