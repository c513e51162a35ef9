"""What the checks look at, gathered before they run: plain data, so the checks stay pure.

``Backends`` is the deployment's side of residency: which backend holds each kind of resource
and the region its configuration declares (``TENANTRY_*_REGION``). A tenant's own side is its
``Facts``: its profile, plan, declared regions, key age and limits.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenantry.tenancy.isolation.placement import Objects, Relational
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import PlanAllows, PlanSpec, Profile

CUSTOMER = "customer"  # an st-byoc tenant's own database or bucket: in the region it declares


class Resource(enum.StrEnum):
    RELATIONAL = "relational"
    OBJECTS = "objects"
    MESSAGING = "messaging"
    STATE = "state"
    KEYS = "keys"


@dataclass(frozen=True, slots=True)
class Backend:
    name: str  # postgres, redis, nats, objects, embedded, customer
    region: str | None  # None: its configuration declares none


@dataclass(frozen=True, slots=True)
class Backends:
    """The backend of each kind of resource in this deployment."""

    by_resource: Mapping[Resource, Backend]

    def placed(
        self, profile: str, tenant_id: str, env_id: str, declared: str | None
    ) -> dict[Resource, Backend]:
        """Where ``env_id`` of a tenant with ``profile`` lives: the deployment's backends,
        but a customer's own database or bucket (st-byoc) is in the region the tenant declares."""
        found = dict(self.by_resource)
        placement = place(Profile(profile), tenant_id, env_id)
        if placement.relational.mode is Relational.EXTERNAL:
            found[Resource.RELATIONAL] = Backend(CUSTOMER, declared)
        if placement.objects.mode is Objects.EXTERNAL:
            found[Resource.OBJECTS] = Backend(CUSTOMER, declared)
        return found


@dataclass(frozen=True, slots=True)
class Facts:
    """One tenant as the checks see it (``state`` None: not stored yet)."""

    tenant_id: str
    profile: str
    plan: str
    state: str | None
    region: str | None  # the tenant's declared region, its environments' default
    env_regions: Mapping[str, str | None]  # env id -> its own declared region
    placed: Mapping[str, Mapping[Resource, Backend]]  # env id -> where each resource lives
    limits: Mapping[str, Any]  # the stored limits (plan merged with the tenant's overrides)
    plan_limits: Mapping[str, Any]  # the plan's own limits, to tell overrides apart
    allows: PlanAllows | None  # what the plan allows (None: anything)
    key_created_at: datetime | None  # the active key's creation (None: no key)
    archived_at: datetime | None = None  # when its last archive finished
    now: datetime = field(default_factory=datetime.now)


@dataclass(frozen=True, slots=True)
class Doing:
    """What is about to happen: an apply (``kind`` None), or a requested transition."""

    kind: JobKind | None = None
    purge_now: bool = False  # a delete with --now: no retention wait
    scoped: bool = False  # one environment's purge, not the tenant's transition

    @property
    def label(self) -> str:
        return "apply" if self.kind is None else self.kind.value


def of_spec(
    tenant_id: str,
    spec: Mapping[str, Any],
    *,
    state: str | None,
    plan: PlanSpec | None,
    backends: Backends,
    key_created_at: datetime | None,
    now: datetime,
    archived_at: datetime | None = None,
) -> Facts:
    """The facts of a tenant from its (stored or desired) spec, as JSON."""
    region = spec.get("region")
    envs = {env["id"]: env.get("region") for env in spec.get("environments", [])}
    profile = str(spec.get("profile", Profile.MT_STANDARD.value))
    placed = {
        env_id: backends.placed(profile, tenant_id, env_id, own or region)
        for env_id, own in envs.items()
    }
    return Facts(
        tenant_id=tenant_id,
        profile=profile,
        plan=str(spec.get("plan", "standard")),
        state=state,
        region=region,
        env_regions=envs,
        placed=placed,
        limits=spec.get("limits") or {},
        plan_limits={} if plan is None else plan_limits(plan),
        allows=None if plan is None else plan.allows,
        key_created_at=key_created_at,
        archived_at=archived_at,
        now=now,
    )


def plan_limits(plan: PlanSpec) -> dict[str, Any]:
    """A plan definition's limits alone, as a tenant's stored limits show them."""
    return plan.model_dump(mode="json", exclude={"allows"})
