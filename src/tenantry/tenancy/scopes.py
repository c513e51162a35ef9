"""Opening a tenant scope: the registry says whether, the runtime backends say how.

:meth:`Scopes.open` reads the tenant's lifecycle state and stored placement with one indexed
query on every call (so a suspension takes effect at once; concurrent calls may share a query
that started after each of them, never one already running: ``core.coalesce``), refuses
tenants that may not run, and asks the configured :class:`Runtime` (built by ``bootstrap``) to
bind its stores to the placement.

The query is a :class:`TenantLookup` on the control database's own driver (``backends``): it is on
the path of every tenant request, where an ORM round trip would cost more than the request's own
work. Bound stores depend only on the tenant environment, its placement and its language
(``settings.language``, which search stems by), so they are kept per tenant environment while
those stay the same (a bounded cache) and only the context is stamped anew on each open. The
context's team must be one of the tenant's (and a session's channel one of the team's): the
tenant's teams and channels are read once per registry generation (the status query reads it)
and kept, so checking them costs no round trip while the tenant's spec is unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final, Protocol, TypeVar

from tenantry.core.context import TenantCtx
from tenantry.core.errors import NotFound
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.search import language
from tenantry.tenancy.access.errors import TeamNotFound
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment
from tenantry.tenancy.isolation.placement import Placement
from tenantry.tenancy.lifecycle import states as lifecycle
from tenantry.tenancy.registry.errors import TenantNotFound

# The columns a lookup reads, in this order: lifecycle state, placements (JSON text), the spec's
# generation (teams and channels change only with it), and the language of the tenant's settings.
STATUS_QUERY: Final = (
    "SELECT lifecycle_state, {placement}, generation, {language} FROM tenants WHERE id = {param}"
)
# A tenant's teams, each with its channels (one row per channel, NULL for a team without any).
ROSTER_QUERY: Final = (
    "SELECT teams.id, channels.id FROM teams LEFT JOIN channels"
    " ON channels.tenant_id = teams.tenant_id AND channels.team_id = teams.id"
    " WHERE teams.tenant_id = {param}"
)
BOUND_SCOPES: Final = 1024  # tenant environments whose bound stores are kept
_K = TypeVar("_K")
_V = TypeVar("_V")


class EnvironmentNotFound(NotFound):
    code = "environment.not_found"


class Runtime(Protocol):
    """The configured runtime backends, bound per tenant environment."""

    def bind(
        self, ctx: TenantCtx, placement: Placement, *, language: str | None = None
    ) -> TenantScope: ...


@dataclasses.dataclass(frozen=True, slots=True)
class TenantStatus:
    """What the registry says of a tenant when its scope is opened."""

    lifecycle_state: str
    placements: str | None  # the stored placements by environment, as JSON text
    generation: int = 0
    language: str | None = None  # ``settings.language``, when it is a string


Roster = dict[str, frozenset[str]]  # a tenant's teams, each with its channels


def roster_of(rows: Iterable[Sequence[Any]]) -> Roster:
    """The roster of ``ROSTER_QUERY``'s rows: (team id, channel id or None)."""
    teams: dict[str, set[str]] = {}
    for team, channel in rows:
        channels = teams.setdefault(str(team), set())
        if channel is not None:
            channels.add(str(channel))
    return {team: frozenset(channels) for team, channels in teams.items()}


class TenantLookup(Protocol):
    """One indexed read of a tenant's status (``STATUS_QUERY``) on the control database."""

    async def status(self, tenant_id: str) -> TenantStatus | None: ...

    async def roster(self, tenant_id: str) -> Roster:
        """The tenant's teams and their channels (``ROSTER_QUERY``)."""
        ...

    async def close(self) -> None: ...


Release = Callable[[], Awaitable[None]]


class WriteGate(Protocol):
    """The write freeze of a migrating tenant (``lifecycle.freeze``)."""

    async def enter(self, tenant_id: str) -> Release:
        """Wait out a freeze (or refuse, 503) and hold the tenant's writes open until the
        release is called."""
        ...


class Scopes:
    def __init__(
        self,
        lookup: TenantLookup,
        runtime: Runtime,
        *,
        keep: int = BOUND_SCOPES,
        gate: WriteGate | None = None,
        deployment: Deployment = MULTI_TENANT,
    ) -> None:
        self._lookup, self._runtime, self._keep, self._gate = lookup, runtime, keep, gate
        self._deployment = deployment
        # (tenant, env) -> (placements, language) it was bound for, and the bound scope
        self._bound: dict[tuple[str, str], tuple[tuple[str, str | None], TenantScope]] = {}
        self._rosters: dict[str, tuple[int, Roster]] = {}
        self._loading: dict[tuple[str, int], asyncio.Future[Roster]] = {}

    async def open(self, ctx: TenantCtx) -> TenantScope:
        """The scope of ``ctx``'s tenant environment and team, if that tenant may run now."""
        return await self._scope(ctx, await self._status(ctx))

    async def open_holding(self, ctx: TenantCtx) -> TenantScope:
        """:meth:`open`, also for a suspended tenant: a verified provider message is accepted
        and held until the tenant resumes (``lifecycle.states.refusal(holding=True)``)."""
        return await self._scope(ctx, await self._status(ctx, holding=True))

    async def open_writing(self, ctx: TenantCtx) -> tuple[TenantScope, Release | None]:
        """:meth:`open` for a write: a migrating tenant's write first passes its write gate
        (it may wait out a cutover, or be refused), then opens its scope on the placement that
        stays current until the returned release is called."""
        status = await self._status(ctx)
        if self._gate is None or status.lifecycle_state != lifecycle.LifecycleState.MIGRATING:
            return await self._scope(ctx, status), None
        release = await self._gate.enter(ctx.tenant_id)
        try:
            return await self.open(ctx), release
        except BaseException:
            await release()
            raise

    async def _status(self, ctx: TenantCtx, *, holding: bool = False) -> TenantStatus:
        self._deployment.check(ctx.tenant_id)  # a tenant not served here: as if absent
        status = await self._lookup.status(ctx.tenant_id)
        if status is None:
            raise TenantNotFound(ctx.tenant_id)
        refused = lifecycle.refusal(ctx.tenant_id, status.lifecycle_state, holding=holding)
        if refused is not None:
            raise refused
        return status

    async def _scope(self, ctx: TenantCtx, status: TenantStatus) -> TenantScope:
        key, bound_for = (ctx.tenant_id, ctx.env_id), (status.placements or "", status.language)
        kept = self._bound.get(key)
        if kept is not None and kept[0] == bound_for:
            scope = kept[1]
        else:  # new, or its placement or language changed: bind afresh, replacing the old
            placement = _placement(ctx, status.placements)
            scope = self._runtime.bind(ctx, placement, language=status.language)
            _remember(self._bound, key, (bound_for, scope), self._keep)
        channels = _channels(ctx, await self._roster(ctx.tenant_id, status.generation))
        return scope.for_team(ctx, channels)

    async def _roster(self, tenant_id: str, generation: int) -> Roster:
        kept = self._rosters.get(tenant_id)
        if kept is not None and kept[0] == generation:
            return kept[1]
        key = (tenant_id, generation)
        loading = self._loading.get(key)
        if loading is None:  # one read per tenant and generation, however many requests wait
            loading = asyncio.ensure_future(self._load_roster(tenant_id, generation))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load_roster(self, tenant_id: str, generation: int) -> Roster:
        roster = await self._lookup.roster(tenant_id)
        _remember(self._rosters, tenant_id, (generation, roster), self._keep)
        return roster

    async def close(self) -> None:
        await self._lookup.close()


def _remember(kept: dict[_K, _V], key: _K, value: _V, keep: int) -> None:
    if key not in kept and len(kept) >= keep:
        del kept[next(iter(kept))]  # the oldest entry
    kept[key] = value


def language_of(value: object) -> str | None:
    """``settings.language`` as a lookup read it: a string, or None (absent, not a string, or
    too long to name a language)."""
    return value if isinstance(value, str) and len(value) <= language.LONGEST else None


def _channels(ctx: TenantCtx, roster: Roster) -> frozenset[str]:
    """The channels of ``ctx``'s team; ``team.not_found`` if the tenant has no such team."""
    channels = roster.get(ctx.team)
    if channels is not None:
        return channels
    if ctx.team_id is None:
        return frozenset()  # the default team is every tenant's, with no channels unless declared
    raise TeamNotFound(
        f"tenant {ctx.tenant_id!r} has no team {ctx.team_id!r}",
        details={"tenant_id": ctx.tenant_id, "team_id": ctx.team_id},
    )


def _placement(ctx: TenantCtx, placements: str | None) -> Placement:
    parsed: dict[str, Any] | None = json.loads(placements) if placements else None
    stored = (parsed or {}).get(ctx.env_id)
    if stored is None:
        raise EnvironmentNotFound(
            f"tenant {ctx.tenant_id!r} has no provisioned environment {ctx.env_id!r}",
            details={"tenant_id": ctx.tenant_id, "env_id": ctx.env_id},
        )
    return Placement.from_dict(stored)
