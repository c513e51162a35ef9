"""The ``tenantry`` command: the root options and the command table.

Commands load lazily (``docs/cli.md``): a new command is a row of ``COMMANDS``, and its module
imports at the top only what parsing its options needs, the rest inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenantry import __version__
from tenantry.cli import lazy, options

COMMANDS = {
    "validate": lazy.Entry(
        "manifests:validate",
        "Check manifests and print every problem with file:line:column; exit 1 on any.",
    ),
    "plan": lazy.Entry(
        "manifests:plan",
        "Show what applying the bundle would change, tenant by tenant, without writing.",
    ),
    "apply": lazy.Entry(
        "manifests:apply",
        "Store the bundle as the desired state (one transaction) and print what changed.",
    ),
    "tenants": lazy.Entry("tenants:app", "Read tenants from the registry."),
    "plans": lazy.Entry("plans:app", "List the plans tenants may name."),
    "reconcile": lazy.Entry(
        "reconcile:reconcile", "Reconcile tenants: create what is missing; never remove anything."
    ),
    "migrate": lazy.Entry(
        "migrate:migrate",
        "Migrate tenant data to head; a fleet already at head costs one query.",
    ),
    "up": lazy.Entry(
        "serve:up",
        "The main job: apply the bundle, serve the API and run the worker loop, in one process.",
    ),
    "worker": lazy.Entry(
        "worker:worker",
        "Run the worker loops (reconcile, lifecycle jobs, the shared pool) until SIGINT or"
        " SIGTERM.",
    ),
    "suspend": lazy.Entry(
        "lifecycle:suspend",
        "Suspend a tenant: its credentials and scopes are refused until it is resumed.",
    ),
    "resume": lazy.Entry("lifecycle:resume", "Resume a suspended tenant: it serves again."),
    "archive": lazy.Entry(
        "lifecycle:archive",
        "Archive a tenant: export its data to the archive area, then take it out of service.",
    ),
    "restore": lazy.Entry(
        "lifecycle:restore", "Restore an archived tenant from its archive; it ends active."
    ),
    "rotate-keys": lazy.Entry(
        "lifecycle:rotate_keys",
        "Rotate a tenant's key-encryption key and re-wrap its sealed data with the new one.",
    ),
    "delete": lazy.Entry(
        "lifecycle:delete",
        "Delete a tenant: refused at once, purged (keys shredded) after its retention period.",
    ),
    "jobs": lazy.Entry("jobs:app", "List, read, watch, cancel and retry lifecycle jobs."),
    "token": lazy.Entry(
        "tokens:token_app",
        "Issue access tokens (signed JWTs) and manage the keys that sign them.",
    ),
    "apikey": lazy.Entry(
        "tokens:apikey_app", "Create, list and revoke tenants' API keys (for services)."
    ),
    "flows": lazy.Entry("flows:app", "List a tenant's flows, read one, and test one locally."),
    "usage": lazy.Entry(
        "usage:usage", "A tenant's metered usage (AI tokens, ...) between --from and --to."
    ),
    "policies": lazy.Entry(  # policies (issue 13)
        "policies:app", "List policies and check a tenant against its own."
    ),
    "audit": lazy.Entry("audit:app", "List, verify, export and prune the audit log."),
    "webhooks": lazy.Entry(  # issue 13
        "webhooks:app", "Webhook endpoints: add, list, remove, rotate a secret, deliveries, replay."
    ),
}

app = typer.Typer(
    name="tenantry",
    cls=lazy.group(COMMANDS),
    help="Tenantry: the tenancy control plane and tenant-scoped runtime.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    epilog="Settings come from TENANTRY_* environment variables; see the README.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenantry {__version__}")
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
    ctx.obj = options.Root(database_url=database_url, data_dir=data_dir)
