"""The tenant scope: everything tenant-scoped code may touch, confined to one tenant environment.

A :class:`TenantScope` is opened per use case from a verified :class:`TenantCtx` by
``tenancy.scopes.Scopes.open``, which refuses unknown, suspended, archived and unprovisioned
tenants and teams the tenant does not have. Every handle in it is already bound to ``ctx``'s
tenant and environment, and ``team`` to its team: services receive the scope and never build a
name, a path or a key themselves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tenantry.core.context import TenantCtx
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.data import TenantData
from tenantry.runtime.objects.store import ObjectStore
from tenantry.runtime.search.index import SearchIndex
from tenantry.runtime.secrets.service import SecretStore
from tenantry.runtime.sessions.store import SessionStore
from tenantry.runtime.state import StateStore
from tenantry.runtime.teams import TeamStores


@dataclass(frozen=True, slots=True)
class TenantScope:
    ctx: TenantCtx
    data: TenantData  # the relational space: ``async with scope.data.transaction() as conn``
    sessions: SessionStore  # every team's; tenant code acting for a team uses ``team``
    state: StateStore
    secrets: SecretStore  # tenant-wide (key rotation); a team's secrets are ``team.secrets``
    objects: ObjectStore
    search: SearchIndex
    sealer: Sealer  # envelope encryption with the tenant's key, for platform records
    team: TeamStores  # sessions, state and secrets of ``ctx``'s team

    def for_team(self, ctx: TenantCtx, channels: frozenset[str]) -> TenantScope:
        """This scope for ``ctx`` (of the same tenant environment), ``team`` bound to its
        team, whose channels are ``channels``."""
        team = TeamStores.bind(
            ctx.team_id,
            sessions=self.sessions,
            state=self.state,
            secrets=self.secrets,
            channels=channels,
        )
        return dataclasses.replace(self, ctx=ctx, team=team)
