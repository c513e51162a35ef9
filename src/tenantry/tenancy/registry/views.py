"""Turn registry rows into the views the CLI and API render."""

from __future__ import annotations

from tenantry.tenancy.lifecycle.states import LifecycleState
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.registry.models import ChannelRow, EnvironmentRow, TeamRow, TenantRow
from tenantry.tenancy.registry.schemas import (
    ORPHANED,
    ChannelView,
    Condition,
    EnvironmentView,
    FlowView,
    Source,
    TeamView,
    TenantDetail,
    TenantSummary,
)


def _ready(conditions: list[Condition]) -> bool | None:
    status = next((c.status for c in conditions if c.type == "Ready"), "Unknown")
    return None if status == "Unknown" else status == "True"


def summary(row: TenantRow, envs: list[EnvironmentRow], teams: list[TeamRow]) -> TenantSummary:
    conditions = [Condition.model_validate(c) for c in row.conditions]
    return TenantSummary(
        id=row.id,
        name=row.name,
        profile=Profile(row.profile),
        plan=row.plan,
        lifecycle_state=LifecycleState(row.lifecycle_state),
        generation=row.generation,
        observed_generation=row.observed_generation,
        ready=_ready(conditions),
        environments=[env.id for env in envs],
        teams=[team.id for team in teams],
        marked_for_deletion=row.deletion_requested_at is not None,
        source=Source(row.source),
    )


def detail(
    row: TenantRow, envs: list[EnvironmentRow], teams: list[TeamRow], channels: list[ChannelRow]
) -> TenantDetail:
    flows = row.spec.get("flows", {})
    return TenantDetail(
        **summary(row, envs, teams).model_dump(),
        settings=row.settings,
        prevent_deletion=bool(row.spec.get("prevent_deletion", False)),
        conditions=[Condition.model_validate(c) for c in row.conditions],
        environment_details=[EnvironmentView(id=env.id, name=env.name) for env in envs],
        team_details=[_team(team, channels) for team in teams],
        flows=[
            FlowView(name=name, version=flow["version"], nodes=len(flow["nodes"]))
            for name, flow in sorted(flows.items())
        ],
        placement=row.placement,
        resources=row.resources,
        orphaned=[r for r in row.resources if r.get(ORPHANED)],
        deletion_requested_at=row.deletion_requested_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _team(team: TeamRow, channels: list[ChannelRow]) -> TeamView:
    return TeamView(
        id=team.id,
        name=team.name,
        flow=team.flow,
        channels=[
            ChannelView(id=c.id, provider=c.provider, flow=c.flow, config=c.config)
            for c in channels
            if c.team_id == team.id
        ],
    )
