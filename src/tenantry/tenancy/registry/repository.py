"""All control-database queries of the registry; no domain decisions here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.runtime.flows.model import parse_ref
from tenantry.tenancy.lifecycle.states import LifecycleState
from tenantry.tenancy.manifests.schemas import Flow, TenantSpec
from tenantry.tenancy.registry import plan as planning
from tenantry.tenancy.registry.errors import FlowVersionConflict, FlowVersionUnknown
from tenantry.tenancy.registry.models import (
    AppliedManifestRow,
    ChannelRow,
    EnvironmentRow,
    FlowRow,
    PlanRow,
    TeamRow,
    TenantRow,
)
from tenantry.tenancy.registry.schemas import Source

_APPLY_LOCK = 0x7E4A_0001  # serialises concurrent applies on PostgreSQL


async def lock_for_apply(session: AsyncSession) -> None:
    """Serialise applies: the second waits and then plans against what the first stored."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPLY_LOCK})
    else:
        # A write, even of no row, takes SQLite's write lock before the plan reads anything.
        await session.execute(text("UPDATE applied_manifests SET id = id WHERE 0 = 1"))


async def stored_state(
    session: AsyncSession, ids: Sequence[str] | None = None
) -> dict[str, planning.Stored]:
    """What planning compares, without the specs themselves: one narrow query."""
    query = select(
        TenantRow.id,
        TenantRow.spec_hash,
        TenantRow.generation,
        TenantRow.deletion_requested_at.is_not(None).label("marked"),
        TenantRow.source,
        TenantRow.lifecycle_state,
    )
    if ids is not None:
        query = query.where(TenantRow.id.in_(ids))
    return {
        row.id: planning.Stored(
            row.spec_hash,
            row.generation,
            row.marked,
            from_bundle=row.source == Source.BUNDLE.value,
            tombstoned=row.lifecycle_state == LifecycleState.DELETED.value,
        )
        for row in await session.execute(query)
    }


async def creation_request(session: AsyncSession, tenant_id: str) -> str | None:
    """The digest of the API request that created the tenant (None: none, or no key)."""
    found = await session.scalar(
        select(TenantRow.creation_request).where(TenantRow.id == tenant_id)
    )
    return found


async def stored_specs(session: AsyncSession, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = await session.execute(select(TenantRow.id, TenantRow.spec).where(TenantRow.id.in_(ids)))
    return {row.id: row.spec for row in rows}


async def tenant_rows(session: AsyncSession, ids: Sequence[str] | None = None) -> list[TenantRow]:
    query = select(TenantRow).order_by(TenantRow.id)
    if ids is not None:
        query = query.where(TenantRow.id.in_(ids))
    return list((await session.scalars(query)).all())


async def environments_by_tenant(
    session: AsyncSession, ids: Sequence[str] | None = None
) -> dict[str, list[EnvironmentRow]]:
    return await _by_tenant(session, EnvironmentRow, EnvironmentRow.position, ids)


async def teams_by_tenant(
    session: AsyncSession, ids: Sequence[str] | None = None
) -> dict[str, list[TeamRow]]:
    return await _by_tenant(session, TeamRow, TeamRow.id, ids)


async def _by_tenant(
    session: AsyncSession, model: Any, order: Any, ids: Sequence[str] | None
) -> dict[str, list[Any]]:
    query = select(model).order_by(model.tenant_id, order)
    if ids is not None:
        query = query.where(model.tenant_id.in_(ids))
    return _group(await session.scalars(query))


async def channels_of(session: AsyncSession, tenant_id: str) -> list[ChannelRow]:
    query = select(ChannelRow).where(ChannelRow.tenant_id == tenant_id)
    return list((await session.scalars(query.order_by(ChannelRow.team_id, ChannelRow.id))).all())


def _group(rows: Any) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.tenant_id].append(row)
    return grouped


def add_tenant(
    session: AsyncSession,
    tenant_id: str,
    spec: TenantSpec,
    *,
    state: str,
    conditions: list[dict[str, Any]],
    now: datetime,
    source: Source,
    creation_request: str | None = None,
) -> None:
    document = spec.model_dump(mode="json")
    session.add(
        TenantRow(
            id=tenant_id,
            name=spec.name,
            profile=spec.profile.value,
            plan=spec.plan,
            settings=document["settings"],
            spec=document,
            spec_hash=planning.spec_hash(document),
            generation=1,
            observed_generation=0,
            conditions=conditions,
            placement=None,
            resources=[],
            lifecycle_state=state,
            deletion_requested_at=None,
            created_at=now,
            updated_at=now,
            source=source.value,
            creation_request=creation_request,
        )
    )


async def update_spec(
    session: AsyncSession, tenant_id: str, spec: TenantSpec, *, generation: int, now: datetime
) -> None:
    row = await session.get_one(TenantRow, tenant_id)
    document = spec.model_dump(mode="json")
    row.name, row.profile, row.plan = spec.name, spec.profile.value, spec.plan
    row.settings, row.spec, row.spec_hash = (
        document["settings"],
        document,
        planning.spec_hash(document),
    )
    row.generation, row.deletion_requested_at, row.updated_at = generation, None, now


async def replace_projections(session: AsyncSession, tenant_id: str, spec: TenantSpec) -> None:
    for table in (ChannelRow, TeamRow, EnvironmentRow):
        await session.execute(delete(table).where(table.tenant_id == tenant_id))
    await session.flush()
    session.add_all(
        EnvironmentRow(tenant_id=tenant_id, id=env.id, name=env.name, position=position)
        for position, env in enumerate(spec.environments)
    )
    session.add_all(
        TeamRow(tenant_id=tenant_id, id=tid, name=team.name, flow=team.flow)
        for tid, team in spec.teams.items()
    )
    await session.flush()
    session.add_all(
        ChannelRow(
            tenant_id=tenant_id,
            team_id=tid,
            id=cid,
            provider=channel.provider,
            config=channel.config,
            flow=channel.flow,
        )
        for tid, team in spec.teams.items()
        for cid, channel in team.channels.items()
    )


async def add_flow_versions(
    session: AsyncSession, tenant_id: str, flows: Sequence[Flow], *, now: datetime
) -> None:
    """Store each flow version once; a version applied before must not change its content."""
    for flow in flows:
        document = flow.model_dump(mode="json")
        digest = planning.spec_hash(document)
        existing = await session.get(FlowRow, (tenant_id, flow.name, flow.version))
        if existing is None:
            session.add(
                FlowRow(
                    tenant_id=tenant_id,
                    name=flow.name,
                    version=flow.version,
                    definition=document,
                    digest=digest,
                    created_at=now,
                )
            )
        elif existing.digest != digest:
            raise FlowVersionConflict(
                f"flow {flow.name!r} version {flow.version} of tenant {tenant_id!r} was applied "
                "before with different content; give the changed flow a new version",
                details={"tenant_id": tenant_id, "flow": flow.name, "version": flow.version},
            )


async def check_pinned(session: AsyncSession, tenant_id: str, spec: TenantSpec) -> None:
    """Every pinned binding names a version applied for the tenant (now or before)."""
    for ref in sorted(spec.bindings()):
        name, version = parse_ref(ref)
        if version is None:
            continue
        if await session.get(FlowRow, (tenant_id, name, version)) is None:
            raise FlowVersionUnknown(
                f"tenant {tenant_id!r} binds {ref!r}: flow {name!r} version {version} was never "
                "applied for it",
                details={"tenant_id": tenant_id, "flow": name, "version": version},
            )


def record_apply(
    session: AsyncSession,
    *,
    digest: str,
    source: str,
    summary: dict[str, Any],
    bundle: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        AppliedManifestRow(
            digest=digest, source=source, summary=summary, bundle=bundle, applied_at=now
        )
    )


async def plan_definitions(session: AsyncSession) -> list[PlanRow]:
    return list((await session.scalars(select(PlanRow).order_by(PlanRow.name))).all())


async def put_plan(
    session: AsyncSession, name: str, limits: dict[str, Any], *, source: str, now: datetime
) -> None:
    row = await session.get(PlanRow, name)
    if row is None:
        session.add(PlanRow(name=name, limits=limits, source=source, updated_at=now))
    else:
        row.limits, row.source, row.updated_at = limits, source, now


async def ping(session: AsyncSession) -> None:
    await session.execute(select(1))
