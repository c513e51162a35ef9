"""The tenant scope: everything tenant-scoped code may touch, confined to one tenant environment.

A :class:`TenantScope` is opened per use case from a verified :class:`TenantCtx` by
``tenancy.scopes.Scopes.open``, which refuses unknown, suspended, archived and unprovisioned
tenants. Every handle in it is already bound to ``ctx``'s tenant and environment: services
receive the scope and never build a name, a path or a key themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantry.core.context import TenantCtx
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.data import TenantData
from tenantry.runtime.objects.store import ObjectStore
from tenantry.runtime.search.index import SearchIndex
from tenantry.runtime.secrets.service import SecretStore
from tenantry.runtime.sessions.store import SessionStore
from tenantry.runtime.state import StateStore


@dataclass(frozen=True, slots=True)
class TenantScope:
    ctx: TenantCtx
    data: TenantData  # the relational space: ``async with scope.data.transaction() as conn``
    sessions: SessionStore
    state: StateStore
    secrets: SecretStore  # tenant-wide; pass ``team=scope.ctx.team_id`` for team secrets
    objects: ObjectStore
    search: SearchIndex
    sealer: Sealer  # envelope encryption with the tenant's key, for platform records
