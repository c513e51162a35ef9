"""Resources the controller manages, and the port every provisioner implements."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from tenantry.tenancy.isolation.placement import Objects, Placement


class Kind(enum.StrEnum):
    KEY = "key"  # first: every other resource of the tenant may be encrypted with it
    RELATIONAL = "relational"
    OBJECTS = "objects"
    MESSAGING = "messaging"


class Reason(enum.StrEnum):
    """Why a reconcile leaves a resource as it is instead of serving from it."""

    ENVIRONMENT_REMOVED = "EnvironmentRemoved"
    PROFILE_CHANGED = "ProfileChanged"

    @property
    def describe(self) -> str:
        return "environment removed" if self is Reason.ENVIRONMENT_REMOVED else "profile changed"


@dataclass(frozen=True, slots=True, order=True)
class Resource:
    """One external resource, named deterministically so that a retry adopts what exists."""

    kind: Kind
    name: str
    tenant_id: str
    env_id: str | None  # None for tenant-wide resources (the key)
    variant: str = ""  # the placement mode, e.g. "shared-schema" or "dedicated-database"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "tenant_id": self.tenant_id,
            "env_id": self.env_id,
            "variant": self.variant,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Resource:
        return cls(
            Kind(str(data["kind"])),
            str(data["name"]),
            str(data["tenant_id"]),
            data.get("env_id"),
            str(data.get("variant") or ""),
        )


class Provisioner(Protocol):
    """Makes one kind of resource real on one backend; every method is idempotent."""

    kind: Kind

    def wanted(self, placement: Placement) -> Resource | None:
        """The resource this placement needs from this provisioner (None: not its concern)."""
        ...

    async def exists(self, resource: Resource) -> bool: ...

    async def ensure(self, resource: Resource) -> None:
        """Create the resource if absent, adopt it if present."""
        ...

    async def retire(self, resource: Resource) -> None:
        """Remove the resource if present, with any data in it: only a lifecycle job that
        proved the data moved or unwanted may call this, never a reconcile."""
        ...

    async def close(self) -> None:
        """Release connections held for reuse (a no-op for provisioners that hold none)."""
        ...


def object_space(placement: Placement) -> Resource | None:
    """The object space a placement needs: its bucket, or its prefix in the shared bucket."""
    objects = placement.objects
    if objects.mode is Objects.EXTERNAL:
        return None
    name = objects.bucket if objects.bucket is not None else objects.prefix
    return Resource(Kind.OBJECTS, name, placement.tenant_id, placement.env_id, objects.mode)
