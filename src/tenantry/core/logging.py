"""Structured logging with structlog: JSON for machines, console for people.

The tenant context is bound for log enrichment only (DESIGN.md section 1): :func:`bind_context`
puts ``tenant_id``, ``env``, ``team`` and ``correlation_id`` into every record logged inside the
``with`` block, and nothing ever reads them back to make a decision.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import structlog

from tenantry.core.context import TenantCtx

LogFormat = Literal["json", "console"]


def configure(*, level: str = "INFO", fmt: LogFormat = "console") -> None:
    """Configure structlog and the standard library's root logger once per process."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_current_stderr,
        cache_logger_on_first_use=False,
    )


def _current_stderr(*_: object) -> structlog.PrintLogger:
    """A logger on the stderr of the moment: CLI runners and test captures swap it."""
    return structlog.PrintLogger(sys.stderr)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger


@contextmanager
def bind_context(ctx: TenantCtx) -> Iterator[None]:
    """Enrich every log record inside the block with the context's ids."""
    with structlog.contextvars.bound_contextvars(**ctx.log_fields()):
        yield


@contextmanager
def bind_correlation(correlation_id: str) -> Iterator[None]:
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
        yield


def current_correlation() -> str | None:
    """The correlation id bound for the request or job in progress (events reuse it, so an
    event can be matched to the response its change answered), None outside one."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None
