"""``validate``, ``plan`` and ``apply``: manifests in, registry changes out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.manifests.errors import Issue
    from tenantry.tenancy.manifests.schemas import Bundle
    from tenantry.tenancy.registry.plan import Plan

Paths = Annotated[
    list[Path],
    typer.Argument(help="Manifest files or directory bundles.", show_default=False),
]
Bundles = Annotated[
    list[Path],
    typer.Option(
        "-f",
        "--file",
        help="A bundle file or directory; repeat to merge several into one bundle.",
        show_default=False,
    ),
]
Prune = Annotated[
    bool, typer.Option("--prune", help="Mark tenants absent from the bundle for deletion.")
]


def validate(paths: Paths, output: OutputOption = Output.TABLE) -> None:
    """Check manifests and print every problem with file:line:column; exit 1 on any."""
    from tenantry.tenancy.manifests import loader

    results = {path: loader.check(path) for path in paths}
    problems = [issue for found in results.values() for issue in found]
    data = {"valid": not problems, "issues": [issue.as_dict() for issue in problems]}
    render.emit(data, output, lambda: _validate_table(results))
    if problems:
        raise typer.Exit(1)


def _validate_table(results: dict[Path, list[Issue]]) -> None:
    for path, found in results.items():
        if found:
            render.issues(found)
        else:
            render.out.print(f"ok  {path}", markup=False, highlight=False)
    total = sum(len(found) for found in results.values())
    if total:
        render.err.print(f"{total} problem(s) found", style="red bold")


def _load(files: list[Path]) -> Bundle:
    from tenantry.cli import runner
    from tenantry.tenancy.manifests import loader
    from tenantry.tenancy.manifests.errors import ManifestError

    try:
        return loader.load(files)
    except ManifestError as error:
        runner.fail(error)


def plan(
    ctx: typer.Context, file: Bundles, prune: Prune = False, output: OutputOption = Output.TABLE
) -> None:
    """Show what applying the bundle would change, tenant by tenant, without writing.

    Exits 4 with the reason when a policy or plan would refuse the apply.
    """
    from tenantry.cli import runner

    bundle = _load(file)

    async def work(services: Services) -> tuple[Plan, dict[str, list[str]]]:
        steps = {
            tenant_id: [
                str(step)
                for step in await services.controller.preview(
                    tenant_id, spec.profile, [env.id for env in spec.environments]
                )
            ]
            for tenant_id, spec in bundle.tenants.items()
        }
        return await services.registry.plan(bundle, prune=prune), steps

    result, steps = runner.run(ctx, work)
    data = render.plan_data(result) | {"resources": steps}
    render.emit(data, output, lambda: render.plan_table(result, resources=steps))


def apply(
    ctx: typer.Context, file: Bundles, prune: Prune = False, output: OutputOption = Output.TABLE
) -> None:
    """Store the bundle as the desired state (one transaction) and print what changed.

    Tenants absent from the bundle are kept unless --prune is given; then each gets its
    delete job: it is deleting at once and purged after its retention period.
    """
    from tenantry.cli import runner
    from tenantry.cli.audited import by_operator

    bundle = _load(file)
    source = ", ".join(str(path) for path in file)

    async def work(services: Services) -> Plan:
        audit = by_operator("bundle.apply", source[:256])
        return await services.registry.apply(bundle, prune=prune, source=source, audit=audit)

    result = runner.run(ctx, work)
    render.emit(render.plan_data(result), output, lambda: render.plan_table(result, applied=True))
