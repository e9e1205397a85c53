"""Structured logging with structlog: JSON lines in production, readable on a terminal.

Secrets never reach a log: every event passes through ``redact_secrets``, which blanks
any field whose name says it holds a secret, whatever the caller passed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_WORDS = ("password", "passphrase", "secret", "token", "private_key", "pkcs12", "api_key")
REDACTED = "[redacted]"
STDLIB_LOGGERS = ("uvicorn", "uvicorn.error", "apscheduler")


def redact_secrets(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Blank every field named like a secret (``password``, ``api_secret``, ``token`` ...)."""
    for key in list(event):
        if any(word in key.lower() for word in SECRET_WORDS):
            event[key] = REDACTED
    return event


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    """A logger on the *current* ``sys.stderr`` (tests and click replace it)."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(format_: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Set up structlog once per process; ``auto`` is console on a TTY, JSON otherwise."""
    output = stream if stream is not None else sys.stderr
    use_console = format_ == "console" or (format_ == "auto" and output.isatty())
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    shared: list[structlog.types.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream) if stream else _stderr_logger,
        cache_logger_on_first_use=False,
    )
    _bridge_stdlib(shared, renderer, stream, level)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on the *current* ``sys.stderr``, like ``_stderr_logger``."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def _bridge_stdlib(
    shared: list[structlog.types.Processor],
    renderer: structlog.types.Processor,
    stream: Any,
    level: str,
) -> None:
    """uvicorn's (and other libraries') stdlib lines join the same stream, same format."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    )
    handler.setFormatter(formatter)
    for name in STDLIB_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
