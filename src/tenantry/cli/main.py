"""The ``tenantry`` command: the root options and the command table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenantry import __version__
from tenantry.cli import render, runner
from tenantry.cli.commands import manifests, migrate, reconcile, serve, tenants, tokens, usage
from tenantry.core import logging

app = typer.Typer(
    name="tenantry",
    help="Tenantry: the tenancy control plane and tenant-scoped runtime.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    epilog="Settings come from TENANTRY_* environment variables; see the README.",
)


def _version(value: bool) -> None:
    if value:
        render.out.print(f"tenantry {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="TENANTRY_DATABASE_URL",
            help="Control database (sqlite:///path or postgresql://...). "
            "Default: a SQLite file under the data dir.",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="TENANTRY_DATA_DIR",
            help="Where embedded backends keep files.",
            show_default="./.tenantry",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = runner.load_settings(overrides)
    logging.configure(level=settings.log_level, fmt=settings.log_format)
    ctx.obj = settings


app.command()(manifests.validate)
app.command()(manifests.plan)
app.command()(manifests.apply)
app.add_typer(tenants.app, name="tenants")
app.command()(reconcile.reconcile)
app.command()(migrate.migrate)
app.command()(serve.up)
app.add_typer(tokens.token_app, name="token")
app.add_typer(tokens.apikey_app, name="apikey")
app.command()(usage.usage)
