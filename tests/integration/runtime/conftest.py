"""Tenant environments provisioned for real (relational resource + tenant migrations), bound to
their tenant data on SQLite files, PostgreSQL schemas or PostgreSQL databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.backends.postgres.data import PostgresTenantDataSource, tenant_data_engine
from tenantry.backends.postgres.relational import PostgresRelationalProvisioner
from tenantry.backends.sqlite.data import SqliteTenantDataSource
from tenantry.backends.sqlite.relational import SqliteRelationalProvisioner
from tenantry.runtime.data import TenantData
from tenantry.tenancy.controller.resources import Provisioner, Resource
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.schema.runner import Runner
from tenantry.tenancy.schema.targets import Target, target

KINDS = ["sqlite", "postgres-schema", "postgres-database"]
PROFILES = {
    "sqlite": Profile.MT_STANDARD,
    "postgres-schema": Profile.MT_STANDARD,
    "postgres-database": Profile.ST_DEDICATED,
}


def new_tenant() -> str:
    # Roles and databases are cluster-wide: unique ids keep parallel test runs apart.
    return f"t{uuid.uuid4().hex[:10]}"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Spaces:
    """Makes tenant environments and binds their tenant data; undoes it all at teardown."""

    kind: str
    root: Path
    postgres_url: str | None
    provisioner: Provisioner
    source: PostgresTenantDataSource | SqliteTenantDataSource
    runner: Runner = field(default_factory=Runner)
    made: list[Resource] = field(default_factory=list)

    def placement(self, tenant: str, env: str = "prod") -> Placement:
        return place(PROFILES[self.kind], tenant, env)

    def target(self, tenant: str, env: str = "prod") -> Target:
        """Where the tenant migrations of a tenant environment run."""
        relational = self.placement(tenant, env).relational
        return target(tenant, env, relational, postgres_url=self.postgres_url, data_root=self.root)

    async def provision(
        self, tenant: str, env: str = "prod", *, revision: str = "head"
    ) -> Placement:
        placement = self.placement(tenant, env)
        resource = self.provisioner.wanted(placement)
        assert resource is not None
        self.made.append(resource)
        await self.provisioner.ensure(resource)
        await asyncio.to_thread(self.runner.upgrade, self.target(tenant, env), revision)
        return placement

    async def data(self, tenant: str | None = None, env: str = "prod") -> TenantData:
        """A new (or the given) tenant environment, provisioned and bound."""
        return self.source.bind(await self.provision(tenant or new_tenant(), env))

    async def close(self) -> None:
        await self.source.close()
        await asyncio.to_thread(self.runner.close)
        for resource in self.made:
            await self.provisioner.retire(resource)
        close = getattr(self.provisioner, "close", None)
        if close is not None:  # the PostgreSQL provisioner keeps a connection pool
            await close()


async def spaces_for(
    kind: str, root: Path, postgres_url: str | None, engine: AsyncEngine | None = None
) -> Spaces:
    if kind == "sqlite":
        return Spaces(
            kind, root, None, SqliteRelationalProvisioner(root), SqliteTenantDataSource(root)
        )
    assert postgres_url is not None and engine is not None
    provisioner = PostgresRelationalProvisioner(libpq(postgres_url))
    return Spaces(kind, root, postgres_url, provisioner, PostgresTenantDataSource(engine))


SpacesFactory = Callable[..., Awaitable[Spaces]]


@pytest.fixture(
    params=[KINDS[0], *(pytest.param(k, marks=pytest.mark.postgres) for k in KINDS[1:])]
)
async def spaces(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Spaces]:
    """Tenant environments on every backend."""
    root = tmp_path
    if request.param == "sqlite":
        made = await spaces_for("sqlite", root, None)
        yield made
        await made.close()
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = tenant_data_engine(url, pool_size=2, max_overflow=0)
    made = await spaces_for(request.param, root, url, engine)
    try:
        yield made
    finally:
        await made.close()
        await engine.dispose()
