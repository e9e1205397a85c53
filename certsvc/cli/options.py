"""Options shared by commands that act at an instant: ``--now ISO8601`` for cron and tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from certsvc.clock import parse_instant

FC = TypeVar("FC", bound=Callable[..., Any])


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
