"""The caller of a tenant-scoped route: proof that access was checked.

A :class:`Caller` is made only by :func:`authorized` (the dependency every tenant route takes):
the bearer token or API key is verified, ``X-Tenant-ID`` / ``X-Team-ID`` select among the
grants it carries, the tenant's rate limit is taken, and the tenant scope is opened (which
refuses suspended and unknown tenants). Routes then call ``caller.require(action)`` and one
service method on ``caller.scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tenantry.core.context import TenantCtx
from tenantry.core.errors import Forbidden
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.access.permissions import Action, allows
from tenantry.tenancy.access.schemas import Principal, Role


class RoleForbidden(Forbidden):
    code = "auth.role_forbidden"


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    ctx: TenantCtx
    role: Role
    scope: TenantScope

    def require(self, action: Action) -> None:
        if not allows(self.role, action):
            raise RoleForbidden(
                f"role {self.role.value} may not {action.value} in tenant {self.ctx.tenant_id!r}",
                details={"role": self.role.value, "action": action.value},
            )


async def authorized(request: Request) -> Caller:
    """Verify the credential, resolve the tenant context, limit, open the scope."""
    raise NotImplementedError("the access issue wires this")  # replaced by access (issue 5)


CallerDep = Annotated[Caller, Depends(authorized)]
