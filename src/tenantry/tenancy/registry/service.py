"""Registry use cases: plan and apply bundles, create and replace one tenant, read tenants and
plans, check the database.

Applying is one transaction: the plan is computed from the rows read inside it, then created
tenants are inserted, changed ones get their new spec and a bumped generation, and pruned ones
(only tenants that came from bundles) get their delete job (``deleting`` at once, the purge
after retention) in that transaction; a tenant being deleted that the bundle holds again has
its delete cancelled, unless its purge has begun (then the apply is refused). The plans the
bundle defines are stored. A bundle that changes nothing writes nothing. Creating or replacing
one tenant over the API takes the same path, serialised with applies.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.audit import log as audit_log
from tenantry.tenancy.audit.attribution import Attribution
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment
from tenantry.tenancy.idempotency.errors import IdempotencyKeyReused
from tenantry.tenancy.idempotency.service import same_key
from tenantry.tenancy.lifecycle.service import LifecycleService
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tenantry.tenancy.policy.service import PolicyService
from tenantry.tenancy.registry import catalog, definitions, repository, views, writing
from tenantry.tenancy.registry import plan as planning
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import (
    TenantExists,
    TenantNotFound,
    TenantTombstoned,
    translated,
)
from tenantry.tenancy.registry.schemas import PlanView, Source, TenantDetail, TenantSummary

API_SOURCE = "api"  # the source recorded for changes made over the API
APPLY_ACTOR = "apply"  # who a refused apply is recorded as when its caller is not known


@dataclass(frozen=True, slots=True)
class Created:
    tenant: TenantDetail
    replayed: bool  # the same request was made before: it created the tenant, this one nothing


class RegistryService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        clock: Clock = utc_now,
        lifecycle: LifecycleService | None = None,
        deployment: Deployment = MULTI_TENANT,
        policies: PolicyService | None = None,
    ) -> None:
        self._sessions = sessions
        self._deployment = deployment
        self._clock = clock
        self._policies = policies or PolicyService(sessions, clock=clock)
        self._lifecycle = lifecycle or LifecycleService(
            sessions, clock=clock, policies=self._policies
        )

    async def plan(self, bundle: Bundle, *, prune: bool = False) -> planning.Plan:
        """What :meth:`apply` would change, without writing; :class:`PolicyViolated` (nothing
        recorded: nothing was attempted) when the apply would be refused by a policy or plan."""
        self._deployment.check_managed(bundle.tenants)
        async with translated(), self._sessions() as session:
            result = await _plan(session, bundle, prune=prune, deployment=self._deployment)
            await self._gate(session, bundle, result)
        return result

    async def apply(
        self,
        bundle: Bundle,
        *,
        prune: bool = False,
        source: str = "",
        audit: Attribution | None = None,
    ) -> planning.Plan:
        """Store the bundle as the desired state, in one transaction; return what changed.
        A tenant it would put in breach of its policy or plan refuses the whole apply.
        ``audit`` gives one record per tenant changed (and one for a changed plan catalog)."""
        self._deployment.check_managed(bundle.tenants)
        async with self._refusals(audit, APPLY_ACTOR):
            return await self._apply(bundle, prune=prune, source=source, audit=audit)

    async def _apply(
        self, bundle: Bundle, *, prune: bool, source: str, audit: Attribution | None
    ) -> planning.Plan:
        async with translated(), self._sessions() as session, session.begin():
            await repository.lock_for_apply(session)
            result = await _plan(session, bundle, prune=prune, deployment=self._deployment)
            await self._gate(session, bundle, result)
            if result.has_changes:
                now = self._clock()
                await definitions.store_policies(
                    session, bundle.policies, result.policies, source=source or "bundle", now=now
                )
                await writing.store(
                    self._lifecycle, session, bundle.tenants, result, now=now, source=Source.BUNDLE
                )
                await catalog.store(
                    session, bundle.plans, result.plans, source=source or "bundle", now=now
                )
                self._record(session, _desired(bundle.tenants), result, source)
                if audit is not None:
                    await audit_log.append(session, _applied(audit, result), now=now)
        return result

    def _refusals(
        self, audit: Attribution | None, fallback: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Records a policy refusal as the change's actor (``fallback`` when not known)."""
        if audit is None:
            return self._policies.refusals(actor=fallback)
        return self._policies.refusals(actor=audit.actor, correlation_id=audit.correlation_id)

    async def _gate(self, session: AsyncSession, bundle: Bundle, result: planning.Plan) -> None:
        """Refuse the apply of ``bundle`` if a tenant it changes would breach its policy."""
        if result.has_changes:
            written = _written(bundle.tenants, result)
            await self._policies.gate_apply(
                session, written, policies=bundle.policies, plans=bundle.plans
            )

    async def create(
        self,
        tenant_id: str,
        spec: TenantSpec,
        *,
        request: str | None = None,
        audit: Attribution | None = None,
    ) -> Created:
        """Store a new tenant exactly as applying a bundle holding it would, its source the API.

        ``request`` identifies the request (its credential, ``Idempotency-Key`` and content):
        made again, it is answered with the tenant it created; any other request for an
        existing id is :class:`TenantExists`, and for a deleted one :class:`TenantTombstoned`.
        """
        self._deployment.check_managed([ids.tenant_id(tenant_id)])
        async with self._refusals(audit, API_SOURCE):
            replayed = await self._create(tenant_id, spec, request, audit)
        return Created(await self.get(tenant_id), replayed=replayed)

    async def _create(
        self, tenant_id: str, spec: TenantSpec, request: str | None, audit: Attribution | None
    ) -> bool:
        async with translated(), self._sessions() as session, session.begin():
            await repository.lock_for_apply(session)
            stored = await repository.stored_state(session, [tenant_id])
            replayed = tenant_id in stored
            if replayed:
                await _check_repeated(session, tenant_id, stored[tenant_id], request)
            else:
                spec = await catalog.with_stored_plan(session, spec)
                desired = _desired({tenant_id: spec})
                result = planning.plan(desired, {}, prune=False)
                await self._policies.gate_apply(session, {tenant_id: spec}, policies={}, plans={})
                now = self._clock()
                await writing.store(
                    self._lifecycle,
                    session,
                    {tenant_id: spec},
                    result,
                    now=now,
                    source=Source.API,
                    request=request,
                )
                self._record(session, desired, result, API_SOURCE)
            await self._audited(session, audit, tenant_id, replayed=replayed)
        return replayed

    async def replace(
        self, tenant_id: str, spec: TenantSpec, *, audit: Attribution | None = None
    ) -> TenantDetail:
        """Store a tenant's new spec as applying a bundle holding it would (the generation
        moves only if the spec changed); its source stays where it came from."""
        self._deployment.check_managed([ids.tenant_id(tenant_id)])
        async with self._refusals(audit, API_SOURCE):
            await self._replace(tenant_id, spec, audit)
        return await self.get(tenant_id)

    async def _replace(self, tenant_id: str, spec: TenantSpec, audit: Attribution | None) -> None:
        async with translated(), self._sessions() as session, session.begin():
            await repository.lock_for_apply(session)
            stored = await repository.stored_state(session, [tenant_id])
            if tenant_id not in stored:
                raise TenantNotFound(tenant_id)
            if stored[tenant_id].tombstoned:
                raise TenantTombstoned([tenant_id])
            spec = await catalog.with_stored_plan(session, spec)
            desired = _desired({tenant_id: spec})
            result = await _plan_tenants(session, desired, stored, prune=False)
            if result.has_changes:
                await self._policies.gate_apply(session, {tenant_id: spec}, policies={}, plans={})
                now = self._clock()
                await writing.store(
                    self._lifecycle, session, {tenant_id: spec}, result, now=now, source=Source.API
                )
                self._record(session, desired, result, API_SOURCE)
            await self._audited(session, audit, tenant_id, changed=result.has_changes)

    async def _audited(
        self, session: AsyncSession, audit: Attribution | None, tenant_id: str, **details: bool
    ) -> None:
        """Append ``audit``'s record of a change to ``tenant_id`` in the change's transaction."""
        if audit is not None:
            entry = audit.entry(tenant_id, details=details)
            await audit_log.append(session, [entry], now=self._clock())

    def _record(
        self,
        session: AsyncSession,
        desired: dict[str, dict[str, Any]],
        result: planning.Plan,
        source: str,
    ) -> None:
        repository.record_apply(
            session,
            digest=planning.spec_hash(desired),
            source=source,
            summary={action.value: result.count(action) for action in planning.Action},
            bundle=desired,
            now=self._clock(),
        )

    async def plans(self) -> list[PlanView]:
        """Every plan a tenant may name: the bundles' and the built-in ``standard``."""
        async with translated(), self._sessions() as session:
            rows = await repository.plan_definitions(session)
        return catalog.views(rows)

    async def list(self) -> list[TenantSummary]:
        async with translated(), self._sessions() as session:
            rows = [r for r in await repository.tenant_rows(session) if self._serves(r.id)]
            envs = await repository.environments_by_tenant(session)
            teams = await repository.teams_by_tenant(session)
        return [views.summary(row, envs.get(row.id, []), teams.get(row.id, [])) for row in rows]

    async def get(self, tenant_id: str) -> TenantDetail:
        self._deployment.check(ids.tenant_id(tenant_id))
        async with translated(), self._sessions() as session:
            rows = await repository.tenant_rows(session, [tenant_id])
            if not rows:
                raise TenantNotFound(tenant_id)
            envs = await repository.environments_by_tenant(session, [tenant_id])
            teams = await repository.teams_by_tenant(session, [tenant_id])
            channels = await repository.channels_of(session, tenant_id)
        return views.detail(rows[0], envs.get(tenant_id, []), teams.get(tenant_id, []), channels)

    def _serves(self, tenant_id: str) -> bool:
        return self._deployment.serves(tenant_id)

    async def ping(self) -> None:
        """Raise :class:`ControlDatabaseUnavailable` unless the control database answers."""
        async with translated(), self._sessions() as session:
            await repository.ping(session)


async def _plan(
    session: AsyncSession, bundle: Bundle, *, prune: bool, deployment: Deployment
) -> planning.Plan:
    """The bundle's tenant and plan changes; a bundle naming a deleted tenant is refused.
    Only tenants the deployment serves are compared (so a prune never reaches another's)."""
    desired = _desired(bundle.tenants)
    stored = {
        tid: old
        for tid, old in (await repository.stored_state(session)).items()
        if deployment.serves(tid)
    }
    tombstones = planning.tombstones(desired, stored)
    if tombstones:
        raise TenantTombstoned(tombstones)
    live = {tid: old for tid, old in stored.items() if not old.tombstoned}
    result = await _plan_tenants(session, desired, live, prune=prune)
    defined = {row.name: row.limits for row in await repository.plan_definitions(session)}
    wanted = {name: spec.model_dump(mode="json") for name, spec in bundle.plans.items()}
    policies = await definitions.policy_changes(session, bundle.policies)
    return replace(result, plans=planning.plan_definitions(wanted, defined), policies=policies)


async def _plan_tenants(
    session: AsyncSession,
    desired: dict[str, dict[str, Any]],
    stored: dict[str, planning.Stored],
    *,
    prune: bool,
) -> planning.Plan:
    """Plan on spec hashes; read the stored specs of changed tenants only, for their diffs."""
    result = planning.plan(desired, stored, prune=prune)
    changed = [c.tenant_id for c in result.changes if c.action is planning.Action.CHANGED]
    if not changed:
        return result
    specs = await repository.stored_specs(session, changed)
    stored = stored | {tid: replace(stored[tid], spec=specs[tid]) for tid in changed}
    return planning.plan(desired, stored, prune=prune)


async def _check_repeated(
    session: AsyncSession, tenant_id: str, stored: planning.Stored, request: str | None
) -> None:
    """Return if ``request`` is the one that created the tenant; else refuse it."""
    if stored.tombstoned:
        raise TenantTombstoned([tenant_id])
    first = await repository.creation_request(session, tenant_id)
    if request is None or first is None:
        raise TenantExists(tenant_id)
    if first == request:
        return
    if same_key(first, request):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; "
            "use a new key for a new request"
        )
    raise TenantExists(tenant_id)


def _written(tenants: dict[str, TenantSpec], result: planning.Plan) -> dict[str, TenantSpec]:
    """The tenants an apply creates or changes: the ones its policies are checked for."""
    writing_ = {planning.Action.CREATED, planning.Action.CHANGED}
    return {c.tenant_id: tenants[c.tenant_id] for c in result.changes if c.action in writing_}


def _desired(tenants: dict[str, TenantSpec]) -> dict[str, dict[str, Any]]:
    return {tenant_id: spec.model_dump(mode="json") for tenant_id, spec in tenants.items()}


def _applied(audit: Attribution, result: planning.Plan) -> list[AuditEntry]:
    """The records of an apply: each tenant it changed, and the plan catalog if it changed."""
    entries = [
        audit.entry(c.tenant_id, details={"change": c.action.value, "generation": c.generation})
        for c in result.changes
        if c.action in planning.WRITING
    ]
    plans = [p.name for p in result.plans if p.action in planning.WRITING]
    return entries + ([audit.entry(None, details={"plans": plans})] if plans else [])
