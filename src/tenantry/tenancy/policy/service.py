"""Policy use cases: gate a transition or an apply, record a refusal, list and check policies.

The gates run inside the change's transaction and raise :class:`PolicyViolated`; the caller
lets that transaction roll back and then calls :meth:`PolicyService.refused`, which records the
refusal (an audit record, then an event) in transactions of their own, so it outlives the
refused change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core import ids
from tenantry.core.clock import Clock, utc_now
from tenantry.tenancy.audit.log import AuditLog
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import PlanSpec, TenantSpec
from tenantry.tenancy.policy import checks, facts, repository
from tenantry.tenancy.policy.errors import PolicyUnknown, PolicyViolated
from tenantry.tenancy.policy.names import defined_policies
from tenantry.tenancy.policy.schemas import PolicySpec
from tenantry.tenancy.policy.views import CheckReport, PolicyView, report, view
from tenantry.tenancy.registry import catalog
from tenantry.tenancy.registry import repository as registry
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import TenantNotFound, translated
from tenantry.tenancy.registry.models import TenantRow

KeyAges = Callable[[str], datetime | None]  # tenant id -> its active key's creation time
ACTION: Final = "policy.violated"
UNDECLARED: Final = facts.Backends({r: facts.Backend("embedded", None) for r in facts.Resource})


def _no_keys(tenant_id: str) -> datetime | None:
    return None


@dataclass(frozen=True, slots=True)
class Found:
    """A tenant's policy (None: it names none) and the definition of its plan."""

    name: str | None
    policy: PolicySpec | None
    plan: PlanSpec | None


class PolicyService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        backends: facts.Backends = UNDECLARED,
        key_ages: KeyAges = _no_keys,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions, self._backends, self._keys = sessions, backends, key_ages
        self._clock = clock
        self._audit = AuditLog(sessions, clock)

    async def gate_transition(
        self, session: AsyncSession, tenant: TenantRow, doing: facts.Doing
    ) -> PolicySpec | None:
        """Raise :class:`PolicyViolated` if ``doing`` to ``tenant`` breaks its policy or
        plan; else return its policy (its retention decides when a delete purges)."""
        found = await _found(session, tenant.spec, {}, {})
        archived = None
        if doing.kind is JobKind.DELETE:
            archived = await repository.archived_at(session, tenant.id)
        seen = self._facts(tenant.id, tenant.spec, tenant.lifecycle_state, found, archived)
        _raise_if(checks.evaluate(found.policy, seen, doing), tenant.id, found, doing)
        return found.policy

    async def gate_apply(
        self,
        session: AsyncSession,
        specs: Mapping[str, TenantSpec],
        *,
        policies: Mapping[str, PolicySpec],
        plans: Mapping[str, PlanSpec],
    ) -> None:
        """Raise for the first tenant of ``specs`` (created or changed ones) that the apply
        would put in breach of its policy or plan (the bundle's definitions first)."""
        states = {r.id: r.lifecycle_state for r in await registry.tenant_rows(session, [*specs])}
        known = await _definitions(session, policies, plans)
        for tenant_id in sorted(specs):
            spec = specs[tenant_id].model_dump(mode="json")
            found = _lookup(spec, *known)
            seen = self._facts(tenant_id, spec, states.get(tenant_id), found, None)
            _raise_if(checks.evaluate(found.policy, seen, facts.Doing()), tenant_id, found, None)

    @asynccontextmanager
    async def refusals(
        self, *, actor: str, correlation_id: str | None = None
    ) -> AsyncIterator[None]:
        """Around a change's transaction: a :class:`PolicyViolated` raised in it is recorded
        (after the rollback) and raised again."""
        try:
            yield
        except PolicyViolated as error:
            await self.refused(error, actor=actor, correlation_id=correlation_id)
            raise

    async def refused(
        self, error: PolicyViolated, *, actor: str, correlation_id: str | None = None
    ) -> None:
        """Record the refusal: an audit record, then a ``policy.violated`` event."""
        details = dict(error.details)
        entry = AuditEntry(
            actor=actor,
            action=ACTION,
            tenant_id=error.tenant_id,
            outcome=Outcome.DENIED,
            correlation_id=correlation_id,
            details=details,
            target=error.action,
        )
        await self._audit.record([entry])
        first = error.violations[0]
        data = {**details, "check": first.check.value, "reason": first.reason}
        event = Event(EventType.POLICY_VIOLATED, error.tenant_id, data, correlation_id)
        async with translated(), self._sessions() as session, session.begin():
            await emit(session, event, now=self._clock())

    async def list(self) -> list[PolicyView]:
        async with translated(), self._sessions() as session:
            return [view(row) for row in await repository.rows(session)]

    async def check(self, tenant_id: str) -> CheckReport:
        """Every check of the tenant's policy and plan as it stands, passed or not."""
        ids.tenant_id(tenant_id)
        async with translated(), self._sessions() as session:
            rows = await registry.tenant_rows(session, [tenant_id])
            if not rows:
                raise TenantNotFound(tenant_id)
            tenant = rows[0]
            found = await _found(session, tenant.spec, {}, {})
            archived = await repository.archived_at(session, tenant_id)
        seen = self._facts(tenant_id, tenant.spec, tenant.lifecycle_state, found, archived)
        return report(found.name, found.policy, seen)

    def _facts(
        self,
        tenant_id: str,
        spec: Mapping[str, Any],
        state: str | None,
        found: Found,
        archived: datetime | None,
    ) -> facts.Facts:
        return facts.of_spec(
            tenant_id,
            spec,
            state=state,
            plan=found.plan,
            backends=self._backends,
            key_created_at=self._keys(tenant_id),
            now=self._clock(),
            archived_at=archived,
        )


async def _found(
    session: AsyncSession,
    spec: Mapping[str, Any],
    policies: Mapping[str, PolicySpec],
    plans: Mapping[str, PlanSpec],
) -> Found:
    """The tenant's policy and plan: ``policies`` and ``plans`` first, then the stored ones."""
    known = await _definitions(session, policies, plans)
    return _lookup(spec, *known)


async def _definitions(
    session: AsyncSession, policies: Mapping[str, PolicySpec], plans: Mapping[str, PlanSpec]
) -> tuple[dict[str, PolicySpec], dict[str, PlanSpec]]:
    """Every policy and plan a tenant may name (read once per apply, not once per tenant)."""
    stored = {
        n: PolicySpec.model_validate(s) for n, s in (await repository.stored(session)).items()
    }
    return {**stored, **policies}, {**(await catalog.stored(session)), **plans}


def _lookup(
    spec: Mapping[str, Any], policies: Mapping[str, PolicySpec], plans: Mapping[str, PlanSpec]
) -> Found:
    name = spec.get("policy")
    policy = None if name is None else policies.get(name)
    if name is not None and policy is None:
        raise PolicyUnknown(
            f"policy {name!r} is not defined; {defined_policies(policies)}",
            details={"policy": name},
        )
    return Found(name, policy, plans.get(str(spec.get("plan", "standard"))))


def _raise_if(
    violations: list[checks.Violation], tenant_id: str, found: Found, doing: facts.Doing | None
) -> None:
    if violations:
        label = "apply" if doing is None else doing.label
        raise PolicyViolated(tenant_id, found.name, label, violations)
