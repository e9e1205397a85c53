"""What every CLI command shares: settings and services, built on first use."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import click

from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.clock import Clock, SystemClock
from certsvc.config import Settings, load_settings
from certsvc.logging import configure_logging

FC = TypeVar("FC", bound=Callable[..., Any])


class CliContext:
    """Lazily loads the configuration so ``--help`` never touches the disk."""

    def __init__(self, config_file: str | None, clock: Clock | None = None) -> None:
        self.config_file = config_file
        self.clock = clock or SystemClock()
        self.force = False  # --force: pass an open maintenance window (audited)

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_file)
        configure_logging(settings.logging.format, settings.logging.level)
        return settings

    def listen_on(self, host: str | None, port: int | None) -> Settings:
        """Settings as ``serve --host/--port`` changes them, before any part is built: the
        public address (and the URLs in certificates) may derive from where certsvc listens."""
        http = self.settings.http
        chosen = http.model_copy(
            update={"host": host or http.host, "port": http.port if port is None else port}
        )
        self.settings = self.settings.model_copy(update={"http": chosen})
        return self.settings

    @cached_property
    def services(self) -> Services:
        return Services(self.settings, self.clock)

    def close(self) -> None:
        """Release database connections when the command ends."""
        if "services" in self.__dict__:
            self.services.close()

    def actor(self, ticket: str | None = None) -> Actor:
        """Operators on the box act as ``cli:<login name>``; ``--force`` goes with them."""
        return Actor(f"cli:{getpass.getuser()}", ticket, self.force)


pass_cli = click.make_pass_decorator(CliContext)


def _set_force(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.find_object(CliContext).force = True  # type: ignore[union-attr]
    return value


def force_option(function: FC) -> FC:
    """``--force``: an operator doing the maintenance changes during the window (audited)."""
    return click.option(
        "--force",
        is_flag=True,
        expose_value=False,
        callback=_set_force,
        help="Change even during the maintenance window (audited as maintenance.forced).",
    )(function)
