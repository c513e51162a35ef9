"""Helpers of the registry integration tests: the example bundle and raw looks at the tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tenantry.bootstrap import Services
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import (
    AppliedManifestRow,
    ChannelRow,
    EnvironmentRow,
    FlowRow,
    PlanRow,
    TeamRow,
    TenantRow,
)
from tests.conftest import EXAMPLE_BUNDLE

PROJECTIONS = (EnvironmentRow, TeamRow, ChannelRow, FlowRow)


def example() -> Bundle:
    return loader.load([EXAMPLE_BUNDLE])


def with_tenant(bundle: Bundle, tenant_id: str, **update: Any) -> Bundle:
    """``bundle`` with one tenant's spec fields replaced (re-validated)."""
    tenants = dict(bundle.tenants)
    data = {**tenants[tenant_id].model_dump(), **update}
    tenants[tenant_id] = type(tenants[tenant_id]).model_validate(data)
    return Bundle(tenants=tenants)


async def count(services: Services, model: Any) -> int:
    async with database.session_factory(services.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def rows(services: Services, model: Any, tenant_id: str | None = None) -> list[Any]:
    """Every row of ``model`` (of one tenant), in primary-key order."""
    query = select(model).order_by(*model.__table__.primary_key.columns)
    if tenant_id is not None:
        query = query.where(model.tenant_id == tenant_id)
    async with database.session_factory(services.engine)() as session:
        return list((await session.scalars(query)).all())


def _plain(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


async def snapshot(services: Services) -> dict[str, Any]:
    """Everything the registry stores, as plain values, to compare before and after."""
    tables = (TenantRow, AppliedManifestRow, PlanRow, *PROJECTIONS)
    return {
        model.__tablename__: [_plain(r) for r in await rows(services, model)] for model in tables
    }


async def updated_at(services: Services) -> dict[str, Any]:
    return {row.id: row.updated_at for row in await rows(services, TenantRow)}
