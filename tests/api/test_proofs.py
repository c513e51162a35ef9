"""Access proofs check their action when made: holding one proves the role allows it."""

from __future__ import annotations

from typing import cast

import pytest

from tenantry.api.proofs import (
    AdminAccess,
    ReadAccess,
    SecretsReadAccess,
    SecretsWriteAccess,
    TenantAccess,
    WriteAccess,
)
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.access.errors import RoleForbidden
from tenantry.tenancy.access.permissions import allows
from tenantry.tenancy.access.schemas import Grant, Principal, PrincipalKind, Role

CTX = TenantCtx(tenant_id=ids.tenant_id("acme"), env_id=ids.env_id("prod"))
PROOFS = (ReadAccess, WriteAccess, SecretsReadAccess, SecretsWriteAccess, AdminAccess)


@pytest.mark.parametrize("proof", PROOFS)
@pytest.mark.parametrize("role", list(Role))
def test_a_proof_exists_only_for_roles_that_allow_its_action(
    proof: type[TenantAccess], role: Role
) -> None:
    principal = Principal("p", PrincipalKind.USER, (Grant("acme", role),), "c")
    scope = cast(TenantScope, None)  # the role is checked before anything of the scope is used
    if allows(role, proof.action):
        assert proof(principal, CTX, role, scope).role is role
    else:
        with pytest.raises(RoleForbidden):
            proof(principal, CTX, role, scope)
