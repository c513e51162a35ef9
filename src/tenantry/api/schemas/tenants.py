"""Bodies of ``POST /api/v1/tenants`` and ``PUT /api/v1/tenants/{id}``: one tenant in a bundle's
per-tenant form, its ``id``, and the flows its teams and channels bind (keyed by name)."""

from __future__ import annotations

from pydantic import Field

from tenantry.api.schemas.paths import id_rules
from tenantry.core.errors import InvalidInput
from tenantry.core.ids import IdKind
from tenantry.tenancy.manifests.schemas import TenantDocument, TenantSpec

_ID = "The tenant id (a deleted tenant's id is never reused); 'global' is reserved."


class NewTenant(TenantDocument):
    id: str = Field(description=_ID, json_schema_extra=id_rules(IdKind.TENANT))


class TenantReplacement(TenantDocument):
    id: str | None = Field(
        default=None,
        description="The tenant id, when given the path's.",
        json_schema_extra=id_rules(IdKind.TENANT),
    )

    def spec_of(self, tenant_id: str) -> TenantSpec:
        """The spec to store as ``tenant_id``'s; a body naming another tenant is refused."""
        if self.id is not None and self.id != tenant_id:
            raise InvalidInput(
                f"the body names tenant {self.id!r} but the path {tenant_id!r}",
                code="tenant.id_mismatch",
            )
        return self.spec()
