"""Run one use case from a command: open the services, await, map errors to exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from tenantry.bootstrap import Services, services
from tenantry.cli import exit_codes, render
from tenantry.cli.options import Root
from tenantry.core import logging
from tenantry.core.errors import InvalidInput, TenantryError
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests.errors import ManifestError

T = TypeVar("T")


def settings_of(ctx: typer.Context) -> Settings:
    """The settings of the root options (read once, on first use) or set by ``up``."""
    root = ctx.obj
    if isinstance(root, Settings):
        return root
    if not isinstance(root, Root):  # the root callback always sets it
        raise TypeError("tenantry commands run under the root command")
    return root.settings()


def load_settings(overrides: dict[str, Any]) -> Settings:
    """Settings from the environment and the root options; a bad value ends the process."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        fail(InvalidInput(f"invalid settings: {problems}", code="setting.invalid"))
    logging.configure(level=settings.log_level, fmt=settings.log_format)
    return settings


def run(ctx: typer.Context, work: Callable[[Services], Awaitable[T]]) -> T:
    """Await ``work`` with the process's services; a Tenantry error ends the process."""

    async def main() -> T:
        async with services(settings_of(ctx)) as built:
            return await work(built)

    try:
        return asyncio.run(main())
    except TenantryError as error:
        fail(error)


def fail(error: TenantryError) -> NoReturn:
    """Explain ``error`` on standard error and exit with its kind's code."""
    if isinstance(error, ManifestError):
        render.issues(error.issues)
        render.err.print(error.message.splitlines()[0], style="red bold", markup=False)
    else:
        render.err.print(f"error ({error.code}): {error.message}", style="red", markup=False)
    raise typer.Exit(exit_codes.BY_KIND[error.kind])
