"""Access proofs: values that exist only once the caller's role was found to allow an action.

Each proof type is bound to one :class:`~tenantry.tenancy.access.permissions.Action` and checks
it when made, so holding a :class:`WriteAccess` proves the caller may write in its context's
tenant environment and team (whose stores ``team`` holds). Routes obtain them from the
dependencies of :mod:`tenantry.api.caller` (``Reader``, ``Writer``, ...), never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tenantry.core.context import TenantCtx
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.teams import TeamStores
from tenantry.tenancy.access.permissions import Action, require
from tenantry.tenancy.access.schemas import Principal, Role


@dataclass(frozen=True, slots=True)
class TenantAccess:
    """The checked caller of a tenant route (a subclass names the action it proves)."""

    action: ClassVar[Action]
    principal: Principal
    ctx: TenantCtx
    role: Role
    scope: TenantScope

    def __post_init__(self) -> None:
        require(self.role, self.action, tenant=self.ctx.tenant_id)

    @property
    def team(self) -> TeamStores:
        """Sessions, state and secrets of the context's team."""
        return self.scope.team


@dataclass(frozen=True, slots=True)
class ReadAccess(TenantAccess):
    action: ClassVar[Action] = Action.READ


@dataclass(frozen=True, slots=True)
class WriteAccess(TenantAccess):
    action: ClassVar[Action] = Action.WRITE


@dataclass(frozen=True, slots=True)
class SecretsReadAccess(TenantAccess):
    action: ClassVar[Action] = Action.SECRETS_READ


@dataclass(frozen=True, slots=True)
class SecretsWriteAccess(TenantAccess):
    action: ClassVar[Action] = Action.SECRETS_WRITE


@dataclass(frozen=True, slots=True)
class AdminAccess(TenantAccess):
    action: ClassVar[Action] = Action.ADMIN
