"""Deployment models: which tenants this instance serves (``docs/messaging.md``).

One rule, owned here: a single-tenant instance (``TENANTRY_SINGLE_TENANT=acme``) serves that
tenant alone. Another tenant is refused where it is named: not found at runtime and on access
(as if absent, so the instance reveals nothing of others), refused at apply (403).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tenantry.core import ids
from tenantry.core.errors import Forbidden
from tenantry.core.settings import Settings
from tenantry.tenancy.registry.errors import TenantNotFound


class TenantNotServed(Forbidden):
    code = "deployment.tenant_not_served"


@dataclass(frozen=True, slots=True)
class Deployment:
    """Multi-tenant (the default: every tenant) or single-tenant (``single_tenant`` only)."""

    single_tenant: ids.TenantId | None = None

    @classmethod
    def of(cls, settings: Settings) -> Deployment:
        served = settings.single_tenant
        return cls(None if served is None else ids.tenant_id(served))

    @property
    def model(self) -> str:
        return "multi-tenant" if self.single_tenant is None else "single-tenant"

    def serves(self, tenant_id: str) -> bool:
        return self.single_tenant is None or tenant_id == self.single_tenant

    def served(self, tenant_ids: Iterable[str]) -> list[str]:
        """The ids of ``tenant_ids`` this instance serves, in their order."""
        return [tenant for tenant in tenant_ids if self.serves(tenant)]

    def check(self, tenant_id: str) -> None:
        """A runtime or access door naming a tenant: another is not found, as if absent."""
        if not self.serves(tenant_id):
            raise TenantNotFound(tenant_id)

    def check_managed(self, tenant_ids: Iterable[str]) -> None:
        """A registry write (apply, create, replace, a lifecycle job): refuse, changing
        nothing, when it names a tenant this instance does not serve."""
        others = sorted({tenant for tenant in tenant_ids if not self.serves(tenant)})
        if others:
            raise TenantNotServed(
                f"this instance serves only tenant {self.single_tenant!r}"
                f" (TENANTRY_SINGLE_TENANT); refused: {', '.join(map(repr, others))}",
                details={"tenant_ids": others, "single_tenant": self.single_tenant},
            )


MULTI_TENANT = Deployment()
