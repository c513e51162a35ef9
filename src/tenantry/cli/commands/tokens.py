"""``tenantry token`` and ``tenantry apikey``: access, from the deployment's operator.

The CLI runs with the deployment's own files and control database, so it acts as the operator
(recorded as such in the audit records): it issues tokens for any tenant the registry lets run
(their subject is ``-p`` or ``cli:<operating-system user>``), revokes any token by its id, and
manages every tenant's API keys and the signing keys.
"""

from __future__ import annotations

import getpass
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from tenantry.cli import render
from tenantry.cli.options import Output, OutputOption
from tenantry.tenancy.access.schemas import PrincipalKind, Role

if TYPE_CHECKING:
    from tenantry.bootstrap import Services
    from tenantry.tenancy.access.schemas import ApiKeyInfo, CreatedApiKey, IssuedToken

token_app = typer.Typer(
    help="Issue access tokens (signed JWTs) and manage the keys that sign them.",
    no_args_is_help=True,
)
apikey_app = typer.Typer(
    help="Create, list and revoke tenants' API keys (for services).", no_args_is_help=True
)

_TTL = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_ROLES = ", ".join(role.value for role in Role)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant id.")]
TeamOption = Annotated[
    str | None, typer.Option("--team", help="Narrow the grant to one team of the tenant.")
]
RoleOption = Annotated[Role, typer.Option("--role", "-r", help=f"The role: {_ROLES}.")]
IssueTenantOption = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="The tenant id (none for --role platform-admin)."),
]
TtlOption = Annotated[
    str | None,
    typer.Option(
        "--ttl",
        help="Lifetime: 90s, 30m, 1h, 7d; default 1h. At most the tenant plan's max_token_ttl "
        "(24h unless the plan says otherwise).",
    ),
]
PrincipalOption = Annotated[
    str | None,
    typer.Option(
        "--principal",
        "-p",
        help="Who the token is for (its subject); default cli:<your operating-system user>.",
    ),
]
ServiceOption = Annotated[
    bool, typer.Option("--service", help="The principal is a service, not a person.")
]


def parse_ttl(value: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``7d`` or plain seconds."""
    match = _TTL.fullmatch(value.strip())
    if match is None or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{value!r} is not a duration like 90s, 30m, 1h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


@token_app.command("issue")
def issue(
    ctx: typer.Context,
    role: RoleOption,
    tenant: IssueTenantOption = None,
    team: TeamOption = None,
    ttl: TtlOption = None,
    principal: PrincipalOption = None,
    service: ServiceOption = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Issue a token and print it (with -o json, also its claims).

    The tenant must be registered and not suspended, archived or deleted; the team must be
    one of its teams. For example:

    TOKEN=$(tenantry token issue --tenant acme --team support --role team-member)

    curl -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: acme" -H "X-Team-ID: support"
    http://127.0.0.1:8080/api/v1/sessions
    """
    from tenantry.cli import runner

    lifetime = None if ttl is None else parse_ttl(ttl)
    subject = principal if principal is not None else default_principal()
    kind = PrincipalKind.SERVICE if service else PrincipalKind.USER
    if role is Role.PLATFORM_ADMIN:
        kind = PrincipalKind.PLATFORM_ADMIN

    async def work(services: Services) -> IssuedToken:
        return await services.access.issue_token(
            subject,
            tenant=tenant,
            team=team,
            role=None if kind is PrincipalKind.PLATFORM_ADMIN else role,
            ttl=lifetime,
            kind=kind,
            actor=default_principal(),
        )

    issued = runner.run(ctx, work)
    claims = issued.model_dump(mode="json", exclude={"token"})
    render.emit(
        {"token": issued.token, "claims": claims},
        output,
        lambda: render.out.print(issued.token, markup=False, highlight=False),
    )


def default_principal() -> str:
    """``cli:`` and the operating-system user: who ran the command, as audit records show it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError) as error:  # no user name in the environment nor the passwd file
        raise typer.BadParameter(
            "the operating-system user is unknown: name the subject with --principal/-p"
        ) from error
    return f"cli:{user}"


@token_app.command("revoke")
def revoke_token(
    ctx: typer.Context,
    jti: Annotated[
        str, typer.Argument(metavar="JTI", help="The token's id (its jti, in -o json output).")
    ],
) -> None:
    """Revoke a token: every API process refuses it within a second."""
    from tenantry.cli import runner

    async def work(services: Services) -> None:
        await services.access.revoke_token(jti, actor=default_principal())

    runner.run(ctx, work)
    render.out.print(f"revoked {jti}", markup=False, highlight=False)


@token_app.command("keys")
def keys(ctx: typer.Context, output: OutputOption = Output.TABLE) -> None:
    """The signing key ids, oldest first; the last one signs new tokens."""
    from tenantry.cli import runner

    async def work(services: Services) -> list[str]:
        return services.access.signing_key_ids()

    found = runner.run(ctx, work)
    data = [{"kid": kid, "active": kid == found[-1]} for kid in found]  # last one signs
    render.emit({"items": data}, output, lambda: _kids_table(found))


@token_app.command("rotate-key")
def rotate_key(ctx: typer.Context) -> None:
    """Start signing with a new key; tokens signed before still verify until retired."""
    from tenantry.cli import runner

    async def work(services: Services) -> str:
        return await services.access.rotate_signing_key(actor=default_principal())

    render.out.print(runner.run(ctx, work), markup=False, highlight=False)


@token_app.command("retire-key")
def retire_key(
    ctx: typer.Context,
    kid: Annotated[str, typer.Argument(metavar="KID", help="The key id (see `token keys`).")],
) -> None:
    """Stop accepting tokens signed with an old key (never the active one)."""
    from tenantry.cli import runner

    async def work(services: Services) -> None:
        await services.access.retire_signing_key(kid, actor=default_principal())

    runner.run(ctx, work)
    render.out.print(f"retired {kid}", markup=False, highlight=False)


@apikey_app.command("create")
def create(
    ctx: typer.Context,
    tenant: TenantOption,
    role: RoleOption,
    name: Annotated[str, typer.Option("--name", "-n", help="A label, e.g. 'ci deploy'.")],
    team: TeamOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Create an API key and print its secret: it is shown this once and never again."""
    from tenantry.cli import runner

    async def work(services: Services) -> CreatedApiKey:
        return await services.access.create_api_key(
            tenant, team=team, role=role, name=name, actor=default_principal()
        )

    created = runner.run(ctx, work)
    render.emit(created, output, lambda: _created(created))


@apikey_app.command("list")
def list_(
    ctx: typer.Context,
    tenant: TenantOption,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """A tenant's API keys (metadata only; secrets are never stored)."""
    from tenantry.cli import runner

    async def work(services: Services) -> list[ApiKeyInfo]:
        return await services.access.list_api_keys(tenant, include_revoked=include_revoked)

    found = runner.run(ctx, work)
    render.emit({"items": found}, output, lambda: _keys_table(found))


@apikey_app.command("revoke")
def revoke(
    ctx: typer.Context,
    tenant: TenantOption,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key id (see `list`).")],
) -> None:
    """Revoke an API key; requests with it fail at once."""
    from tenantry.cli import runner

    async def work(services: Services) -> None:
        await services.access.revoke_api_key(tenant, key_id, actor=default_principal())

    runner.run(ctx, work)
    render.out.print(f"revoked {key_id}", markup=False, highlight=False)


def _kids_table(kids: list[str]) -> None:
    table = Table(Column("kid", no_wrap=True, min_width=32), "active", box=None, pad_edge=False)
    for kid in kids:
        table.add_row(kid, "yes" if kid == kids[-1] else "")  # kids is non-empty here
    render.show(table)


def _created(created: CreatedApiKey) -> None:
    render.out.print(created.secret, markup=False, highlight=False)
    render.err.print(
        f"API key {created.key.id} ({created.key.role.value} on {created.key.tenant}): "
        "store the secret now, it is not shown again",
        markup=False,
    )


def _keys_table(found: list[ApiKeyInfo]) -> None:
    # The id is what `revoke` takes: never shortened, whatever the terminal's width.
    key_column = Column("id", no_wrap=True, min_width=16)
    table = Table(key_column, "name", "team", "role", "created", "by", "revoked", box=None)
    for key in found:
        revoked = f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        table.add_row(
            key.id,
            key.name,
            key.team or "-",
            key.role.value,
            f"{key.created_at:%Y-%m-%d %H:%M}",
            key.created_by,
            revoked,
        )
    render.show(table)
