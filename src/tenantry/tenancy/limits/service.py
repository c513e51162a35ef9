"""Admission of tenant work: rate limits per route class, and concurrency slots.

:meth:`LimitsService.admit` is what the access dependency calls once the tenant context is
known: it takes one request from the tenant's GCRA bucket of the route class and answers the
values of the ``RateLimit-*`` headers, or raises ``rate.limited`` (429 with ``Retry-After``).
With ``hold_slot`` it also takes one of the tenant's in-flight slots (``concurrency.limited``
when none is free), which the :class:`Admission` holds until :meth:`Admission.release`.
Admitted requests are counted for metering when a :class:`RequestMeter` is given.
:meth:`in_flight` and :meth:`flow_execution` hold a concurrency slot for a block. The door
limits of credentials and client addresses are :attr:`LimitsService.doors` (``limits.doors``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from tenantry.core.context import TenantCtx
from tenantry.tenancy.limits.concurrency import ConcurrencyLimiter, Slot
from tenantry.tenancy.limits.counting import RequestMeter
from tenantry.tenancy.limits.doors import DoorLimits, Doors
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.plans import Limits, RateLimit
from tenantry.tenancy.limits.ports import LimitsSource, RateLimiter
from tenantry.tenancy.limits.refusals import RefusalMemo, exceeded, rate_limit_headers
from tenantry.tenancy.limits.schemas import RouteClass

__all__ = ["Admission", "LimitsService", "rate_limit_headers"]


@dataclass(frozen=True, slots=True)
class Admission:
    """A request let through, and what to tell the client about its limit."""

    route_class: RouteClass
    limit: RateLimit
    remaining: int
    reset: float
    slot: Slot | None = field(default=None, compare=False)  # the in-flight slot, if held
    ctx: TenantCtx | None = None  # the context admitted (for the request log)

    @property
    def headers(self) -> dict[str, str]:
        return rate_limit_headers(self.limit, self.remaining, self.reset)

    def release(self) -> None:
        """Give back the in-flight slot (when the response is done); safe to call twice."""
        if self.slot is not None:
            self.slot.release()


class LimitsService:
    def __init__(
        self,
        source: LimitsSource,
        rates: RateLimiter,
        *,
        requests: ConcurrencyLimiter | None = None,
        flows: ConcurrencyLimiter | None = None,
        meter: RequestMeter | None = None,
        refusals: RefusalMemo | None = None,
        doors: Doors | None = None,
    ) -> None:
        self.source, self.rates, self.meter = source, rates, meter
        self.doors = (
            doors if doors is not None else Doors(LocalRateLimiter(), DoorLimits.of_settings())
        )
        self.refusals = refusals if refusals is not None else RefusalMemo()
        self.requests = requests or ConcurrencyLimiter("requests in flight")
        self.flows = flows or ConcurrencyLimiter("flow executions")
        # Long-polls and event streams: their own slots, not the in-flight requests'.
        self.connections = ConcurrencyLimiter("long-lived connections")

    async def limits(self, ctx: TenantCtx) -> Limits:
        return await self.source.get(ctx.tenant_id)

    async def admit(
        self,
        ctx: TenantCtx,
        route_class: RouteClass = RouteClass.DEFAULT,
        *,
        cost: int = 1,
        hold_slot: bool = False,
    ) -> Admission:
        """Take ``cost`` requests from the tenant's bucket, or raise ``rate.limited``; with
        ``hold_slot``, also one in-flight slot (released by :meth:`Admission.release`)."""
        admission = await self.admit_tenant(
            ctx.tenant_id, route_class, cost=cost, hold_slot=hold_slot
        )
        return replace(admission, ctx=ctx)

    async def admit_tenant(
        self,
        tenant_id: str,
        route_class: RouteClass = RouteClass.DEFAULT,
        *,
        cost: int = 1,
        hold_slot: bool = False,
    ) -> Admission:
        """:meth:`admit` for a tenant whose context is not opened (an access act on it, such
        as issuing a token: the caller's right to act for ``tenant_id`` is checked first)."""
        refused = self.refusals.refusal(tenant_id, route_class)
        if refused is not None:  # the limiter's last refusal still holds: no round trip
            raise refused
        limits = await self.source.get(tenant_id)
        limit = limits.rates[route_class]
        decision = await self.rates.acquire(tenant_id, route_class, limit, cost=cost)
        if not decision.allowed:
            if cost == 1:  # what refuses one request refuses all until retry_after
                self.refusals.remember(tenant_id, route_class, limit, decision)
            raise exceeded(tenant_id, route_class, limit, decision.retry_after, decision.reset)
        slot = self.requests.take(tenant_id, limits.max_in_flight) if hold_slot else None
        if self.meter is not None:
            self.meter.count(tenant_id, cost)
        return Admission(route_class, limit, decision.remaining, decision.reset, slot)

    @asynccontextmanager
    async def in_flight(self, ctx: TenantCtx) -> AsyncIterator[None]:
        """Hold one of the tenant's in-flight request slots (per process) for the block."""
        limits = await self.source.get(ctx.tenant_id)
        async with self.requests.hold(ctx.tenant_id, limits.max_in_flight):
            yield

    async def connection(self, ctx: TenantCtx) -> Slot:
        """One of the tenant's long-lived connection slots (``max_connections``, per process),
        or ``concurrency.limited``; the caller releases it when the connection ends."""
        limits = await self.source.get(ctx.tenant_id)
        return self.connections.take(ctx.tenant_id, limits.max_connections)

    @asynccontextmanager
    async def flow_execution(self, ctx: TenantCtx) -> AsyncIterator[None]:
        """Hold one of the tenant's flow execution slots (per process) for the block."""
        limits = await self.source.get(ctx.tenant_id)
        async with self.flows.hold(ctx.tenant_id, limits.max_flow_executions):
            yield
