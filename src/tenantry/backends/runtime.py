"""The runtime backends of one process, bound per tenant environment into a TenantScope.

``bootstrap`` chooses each backend from the settings; this class only composes them. Process-wide
pieces (the state pool, the session space, the tenant-data engines, the sealer) are shared by
every scope; what a scope adds is the binding to one tenant environment, and to its tenant's
storage quota, which every session, state value, object and secret it stores counts against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.backends.keys.keyring import Keyring
from tenantry.backends.postgres.search import PostgresSearchIndex
from tenantry.backends.sqlite.search import SqliteSearchIndex
from tenantry.core.context import TenantCtx
from tenantry.runtime.blobs import BlobSpace
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.data import TenantData
from tenantry.runtime.objects.store import ObjectStore
from tenantry.runtime.quota import StorageQuota, unlimited
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.search.index import SearchIndex
from tenantry.runtime.secrets.service import SecretStore
from tenantry.runtime.sessions.store import SessionStore
from tenantry.runtime.state import StateBackend
from tenantry.runtime.teams import TeamStores
from tenantry.tenancy.isolation.placement import ObjectPlacement, Placement
from tenantry.tenancy.secrets.repository import SqlSecretRecords


class DataSource(Protocol):
    def bind(self, placement: Placement) -> TenantData: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class RuntimeBackends:
    keyring: Keyring
    state: StateBackend
    sessions: BlobSpace  # the one session space: keys are ``sessions/{tenant}/{env}/...``
    objects: Callable[[ObjectPlacement], BlobSpace]  # a tenant environment's object space
    data: DataSource
    secrets: SqlSecretRecords
    engine: AsyncEngine | None = None  # the shared tenant-data engine, disposed on close
    quotas: Callable[[str], StorageQuota] = unlimited  # a tenant's storage quota, by tenant id
    sealer: Sealer = field(init=False)

    def __post_init__(self) -> None:
        self.sealer = Sealer(self.keyring)

    def bind(
        self, ctx: TenantCtx, placement: Placement, *, language: str | None = None
    ) -> TenantScope:
        tenant, env = ctx.tenant_id, ctx.env_id
        data, quota = self.data.bind(placement), self.quotas(tenant)
        objects = self.objects(placement.objects)
        sessions = SessionStore(tenant, env, self.sessions, self.sealer, quota=quota)
        state = self.state.bind(tenant, env, quota=quota)
        secrets = SecretStore(tenant, records=self.secrets, keys=self.keyring, quota=quota)
        return TenantScope(
            ctx=ctx,
            data=data,
            sessions=sessions,
            state=state,
            secrets=secrets,
            objects=ObjectStore(tenant, env, objects, self.sealer, quota=quota),
            search=_search(data, language),
            sealer=self.sealer,
            # no channels until Scopes.open binds the team the registry knows
            team=TeamStores.bind(ctx.team_id, sessions=sessions, state=state, secrets=secrets),
        )

    async def close(self) -> None:
        await self.state.aclose()
        await self.data.close()
        if self.engine is not None:
            await self.engine.dispose()


def _search(data: TenantData, language: str | None) -> SearchIndex:
    if data.dialect == "postgresql":
        return PostgresSearchIndex(data, language=language)
    return SqliteSearchIndex(data, language=language)
