"""Tenant data and search on tenants provisioned by the controller itself (the example bundle:
acme on mt-standard, bigcorp on st-dedicated), migrated by the fleet's own paths."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from tenantry.backends.postgres.data import PostgresTenantDataSource, tenant_data_engine
from tenantry.backends.sqlite.data import SqliteTenantDataSource
from tenantry.bootstrap import Services
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Profile
from tests.integration.controller.test_migrate import provisioned
from tests.integration.runtime.test_search import index_for

TENANTS = {("acme", "prod"): Profile.MT_STANDARD, ("bigcorp", "dev"): Profile.ST_DEDICATED}


@pytest.fixture
async def source(
    wired: Services,
) -> AsyncIterator[PostgresTenantDataSource | SqliteTenantDataSource]:
    await provisioned(wired)
    url = wired.settings.tenant_postgres_url()
    if url is None:
        files = SqliteTenantDataSource(wired.settings.data_dir)
        yield files
        await files.close()
        return
    engine = tenant_data_engine(url, pool_size=2)
    postgres = PostgresTenantDataSource(engine)
    yield postgres
    await postgres.close()
    await engine.dispose()


async def test_provisioned_tenants_search_their_own_space(
    source: PostgresTenantDataSource | SqliteTenantDataSource,
) -> None:
    for (tenant, env), profile in TENANTS.items():
        data = source.bind(place(profile, tenant, env))
        index = index_for(data)
        await index.index("welcome", title=f"Welcome to {tenant}", body=f"{tenant} onboarding")
        assert [hit.doc_id for hit in await index.search(f"{tenant} onboarding")] == ["welcome"]
        async with data.transaction() as conn:
            identity = (await conn.execute(text("SELECT * FROM tenantry_identity"))).all()
        assert [tuple(row) for row in identity] == [(tenant, env)]
    acme = index_for(source.bind(place(Profile.MT_STANDARD, "acme", "prod")))
    assert await acme.search("bigcorp") == []
