"""What the registry answers: tenant views, status conditions and lifecycle states."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tenantry.tenancy.lifecycle.states import LifecycleState
from tenantry.tenancy.manifests.schemas import Profile

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


class TenantDetail(TenantSummary):
    settings: dict[str, Any]
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
