"""Tenant resolution: a verified principal plus the request's selection -> context and role.

Pure. The credential decides what may be acted for; the headers only select among it
(DESIGN.md section 6.1):

* ``X-Tenant-ID`` must name a tenant of the credential's grants, else 403
  ``auth.tenant_mismatch``. Without it, a credential for exactly one tenant acts for that
  tenant; one for several tenants gets 400 ``auth.tenant_required``.
* ``X-Team-ID`` must be allowed by a grant on that tenant: a team-scoped grant acts only for its
  team (403 ``auth.team_mismatch``), a tenant-wide grant may pick any team. Without it, a
  tenant-wide grant acts tenant-wide; team-scoped grants on exactly one team act for that team,
  on several teams need the header (400 ``auth.team_required``). When several grants apply,
  the most privileged role wins.
* ``X-Env-ID`` picks the environment, default ``prod`` (:data:`DEFAULT_ENV`). Grants span a
  tenant's environments, as role bindings do; the spec's example sends no env header and means
  production. An environment the tenant does not have is refused when the scope opens (404).
* A platform admin holds no grants and acts on a tenant only when ``X-Tenant-ID`` names it
  (400 ``auth.tenant_required`` otherwise); such acts are audited by the service.
* A malformed id in any header is 400 ``id.invalid``; the same header sent twice is 400
  ``auth.header_ambiguous``.
* A request that also names a tenant in its body (issuing a token) must name the selected one
  (:func:`agree`; 403 ``auth.tenant_mismatch`` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple, TypeVar

from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.tenancy.access.errors import (
    AmbiguousHeader,
    EnvMismatch,
    NoGrant,
    TeamMismatch,
    TeamRequired,
    TenantMismatch,
    TenantRequired,
)
from tenantry.tenancy.access.schemas import (
    Conversation,
    Grant,
    Principal,
    PrincipalKind,
    Role,
    strongest,
)

TENANT_HEADER: Final = "X-Tenant-ID"
TEAM_HEADER: Final = "X-Team-ID"
ENV_HEADER: Final = "X-Env-ID"
DEFAULT_ENV: Final = ids.EnvId("prod")
_Id = TypeVar("_Id", bound=str)


@dataclass(frozen=True, slots=True)
class Selection:
    """What a request selects (raw header values, unvalidated; None when absent)."""

    tenant: str | None = None
    team: str | None = None
    env: str | None = None


NOTHING_SELECTED: Final = Selection()


class Resolved(NamedTuple):
    ctx: TenantCtx
    role: Role


def one_header(name: str, values: Sequence[str]) -> str | None:
    """The single value of a header, None when absent; sent twice is ambiguous."""
    if len(values) > 1:
        raise AmbiguousHeader(f"send {name} at most once", details={"header": name})
    return values[0] if values else None


def resolve(
    principal: Principal, selection: Selection, *, correlation_id: str | None = None
) -> Resolved:
    """The context and role ``principal`` acts with for ``selection``, or a refusal."""
    tenant = None if selection.tenant is None else ids.tenant_id(selection.tenant)
    team = None if selection.team is None else ids.team_id(selection.team)
    env = DEFAULT_ENV if selection.env is None else ids.env_id(selection.env)
    if principal.conversation is not None:
        return _visitor(principal, principal.conversation, selection, correlation_id)
    if principal.kind is PrincipalKind.PLATFORM_ADMIN:
        if tenant is None:
            raise TenantRequired(
                f"a platform admin acts on a tenant only when {TENANT_HEADER} names it"
            )
        role = Role.PLATFORM_ADMIN
    else:
        tenant = _tenant(principal.grants, tenant)
        team, role = _team_and_role([g for g in principal.grants if g.tenant_id == tenant], team)
    ctx = TenantCtx(
        tenant_id=tenant,
        env_id=env,
        team_id=team,
        user_id=principal.id,
        correlation_id=correlation_id,
    )
    return Resolved(ctx, role)


def _visitor(
    principal: Principal,
    bound: Conversation,
    selection: Selection,
    correlation_id: str | None,
) -> Resolved:
    """A visitor acts only in its conversation's tenant environment and team: the headers may
    name them (or be left out), never select others."""
    tenant = _tenant(principal.grants, _id(selection.tenant, ids.tenant_id))
    team = None if bound.team_id is None else ids.TeamId(bound.team_id)
    if _id(selection.team, ids.team_id) not in (None, team):
        raise TeamMismatch(
            f"this credential may not act for team {selection.team!r}",
            details={"team_id": selection.team},
        )
    if _id(selection.env, ids.env_id) not in (None, bound.env_id):
        raise EnvMismatch(
            f"this credential may not act in environment {selection.env!r}",
            details={"env_id": selection.env},
        )
    ctx = TenantCtx(
        tenant_id=tenant,
        env_id=ids.EnvId(bound.env_id),
        team_id=team,
        user_id=principal.id,
        session_id=ids.SessionId(bound.session_id),
        correlation_id=correlation_id,
    )
    return Resolved(ctx, Role.VISITOR)


def _id(value: str | None, check: Callable[[object], _Id]) -> _Id | None:
    return None if value is None else check(value)


def agree(selected: ids.TenantId, named: str | None) -> None:
    """A request that names a tenant (in its body) besides selecting one (``X-Tenant-ID``)
    must name the same tenant: 403 ``auth.tenant_mismatch`` otherwise."""
    if named is not None and ids.tenant_id(named) != selected:
        raise TenantMismatch(
            f"{TENANT_HEADER} selects tenant {selected!r}, but the request names {named!r}",
            details={"tenant_id": named, "selected_tenant": selected},
        )


def _tenant(grants: Sequence[Grant], selected: ids.TenantId | None) -> ids.TenantId:
    granted = list(dict.fromkeys(g.tenant_id for g in grants))
    if selected is not None:
        if selected not in granted:
            raise TenantMismatch(
                f"this credential may not act for tenant {selected!r}",
                details={"tenant_id": selected},
            )
        return selected
    if not granted:
        raise NoGrant("this credential grants access to no tenant")
    if len(granted) > 1:
        raise TenantRequired(
            f"this credential may act for {len(granted)} tenants: name one in {TENANT_HEADER}"
        )
    return ids.TenantId(granted[0])


def _team_and_role(
    grants: Sequence[Grant], selected: ids.TeamId | None
) -> tuple[ids.TeamId | None, Role]:
    if selected is not None:
        applicable = [g.role for g in grants if g.team_id is None or g.team_id == selected]
        if not applicable:
            raise TeamMismatch(
                f"this credential may not act for team {selected!r}",
                details={"team_id": selected},
            )
        return selected, strongest(applicable)
    tenant_wide = [g.role for g in grants if g.team_id is None]
    if tenant_wide:
        return None, strongest(tenant_wide)
    teams = list(dict.fromkeys(g.team_id for g in grants))
    if len(teams) > 1:
        raise TeamRequired(
            f"this credential acts for {len(teams)} teams of the tenant: name one in {TEAM_HEADER}"
        )
    return ids.TeamId(str(teams[0])), strongest(g.role for g in grants)
