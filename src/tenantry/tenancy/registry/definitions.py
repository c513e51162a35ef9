"""Stored policy definitions: what a bundle defines under ``policies:`` is kept by name (like
plans), so a tenant created over the API may name one, and its checks read it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.policy import repository
from tenantry.tenancy.policy.schemas import PolicySpec
from tenantry.tenancy.registry import plan as planning


async def policy_changes(
    session: AsyncSession, policies: Mapping[str, PolicySpec]
) -> tuple[planning.PlanChange, ...]:
    """What applying does to each policy the bundle defines (policies are never removed)."""
    wanted = {name: spec.model_dump(mode="json") for name, spec in policies.items()}
    return planning.plan_definitions(wanted, await repository.stored(session))


async def store_policies(
    session: AsyncSession,
    policies: Mapping[str, PolicySpec],
    changes: tuple[planning.PlanChange, ...],
    *,
    source: str,
    now: datetime,
) -> None:
    """Store the created and changed definitions."""
    for change in changes:
        if change.action in (planning.Action.CREATED, planning.Action.CHANGED):
            spec = policies[change.name].model_dump(mode="json")
            await repository.put(session, change.name, spec, source=source, now=now)
