"""The registry service on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tenantry.bootstrap import Services
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import (
    AppliedManifestRow,
    FlowRow,
    TenantRow,
)
from tenantry.tenancy.registry.plan import Action
from tests.conftest import EXAMPLE_BUNDLE


def example() -> Bundle:
    return loader.load([EXAMPLE_BUNDLE])


def with_tenant(bundle: Bundle, tenant_id: str, **update: Any) -> Bundle:
    tenants = dict(bundle.tenants)
    tenants[tenant_id] = tenants[tenant_id].model_copy(update=update)
    return Bundle(tenants=tenants)


async def snapshot(wired: Services) -> dict[str, Any]:
    async with database.session_factory(wired.engine)() as session:
        tenants = (await session.scalars(select(TenantRow).order_by(TenantRow.id))).all()
        applied = await session.scalar(select(func.count()).select_from(AppliedManifestRow))
        flows = await session.scalar(select(func.count()).select_from(FlowRow))
        return {
            "tenants": [(t.id, t.generation, t.updated_at, t.spec_hash) for t in tenants],
            "applied": applied,
            "flows": flows,
        }


async def rows(wired: Services, model: Any, tenant_id: str) -> list[Any]:
    async with database.session_factory(wired.engine)() as session:
        return list(
            (await session.scalars(select(model).where(model.tenant_id == tenant_id))).all()
        )


async def test_apply_creates_tenants_pending_reconcile(wired: Services) -> None:
    plan = await wired.registry.apply(example(), source="examples/bundle")
    assert [(c.tenant_id, c.action, c.generation) for c in plan.changes] == [
        ("acme", Action.CREATED, 1),
        ("bigcorp", Action.CREATED, 1),
    ]
    acme = await wired.registry.get("acme")
    assert acme.lifecycle_state == "pending" and acme.generation == 1
    assert acme.observed_generation == 0
    assert (acme.conditions[0].type, acme.conditions[0].status) == ("Ready", "Unknown")
    assert acme.conditions[0].reason == "AwaitingReconcile"
    assert acme.created_at.tzinfo is not None
    assert await wired.controller.due() == ["acme", "bigcorp"]
