"""What the registry answers: tenant views, status conditions and lifecycle states."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tenantry.tenancy.lifecycle.states import LifecycleState
from tenantry.tenancy.manifests.schemas import Profile


class Source(enum.StrEnum):
    """Where a tenant came from: ``apply --prune`` only removes tenants that came from bundles."""

    BUNDLE = "bundle"
    API = "api"


ConditionType = Literal[
    "Ready", "Provisioning", "Degraded", "Failed", "Orphaned", "MigrationRequired"
]
ConditionStatus = Literal["True", "False", "Unknown"]
ORPHANED = "orphaned"  # in an owned resource's record: why no environment serves from it now


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Condition(View):
    type: ConditionType
    status: ConditionStatus
    reason: str
    message: str
    last_transition_time: datetime


class EnvironmentView(View):
    id: str
    name: str | None


class ChannelView(View):
    id: str
    provider: str
    flow: str | None
    config: dict[str, Any]


class TeamView(View):
    id: str
    name: str | None
    flow: str | None
    channels: list[ChannelView]


class FlowView(View):
    name: str
    version: str
    nodes: int


class TenantSummary(View):
    id: str
    name: str
    profile: Profile
    plan: str
    lifecycle_state: LifecycleState
    generation: int
    observed_generation: int
    ready: bool | None  # the Ready condition; None until the controller has observed it
    environments: list[str]
    teams: list[str]
    marked_for_deletion: bool
    source: Source


class TenantDetail(TenantSummary):
    settings: dict[str, Any]
    prevent_deletion: bool
    conditions: list[Condition]
    environment_details: list[EnvironmentView]
    team_details: list[TeamView]
    flows: list[FlowView]
    placement: dict[str, Any] | None
    resources: list[Any]
    orphaned: list[Any]  # the resources above that are kept but unused, for a lifecycle job
    deletion_requested_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PlanView(View):
    """A plan tenants may name: a bundle's definition, or the built-in ``standard``."""

    name: str
    limits: dict[str, Any]  # what the definition sets
    effective: dict[str, Any]  # every limit, the built-in defaults filling what it leaves out
    source: str  # the bundle that last defined it, or "built-in"
    updated_at: datetime | None  # None for the built-in plan
