"""Request metering: counts in memory, flushed as idempotent ``requests`` meters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tenantry.core.context import TenantCtx
from tenantry.core.errors import Unavailable
from tenantry.core.ids import EnvId, TenantId
from tenantry.tenancy.limits.catalog import StaticLimits
from tenantry.tenancy.limits.counting import REQUESTS, RequestMeter
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.limits.schemas import Granularity
from tenantry.tenancy.limits.service import LimitsService
from tests.integration.limits.conftest import Control


async def totals(control: Control, tenant: str) -> dict[str, int]:
    return (await control.meters.usage(tenant, granularity=Granularity.TOTAL)).totals


class Flaky(Meters):
    """Meters that fail once, after the first tenant of a batch is written."""

    def __init__(self, inner: Meters) -> None:
        self.inner, self.calls = inner, 0

    async def record(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        if self.calls == 2:
            raise Unavailable("the control database is down")
        return await self.inner.record(*args, **kwargs)


async def test_admitted_requests_are_counted_and_flushed(control: Control) -> None:
    meter = RequestMeter(control.meters, process="p1", clock=control.clock)
    limits = LimitsService(StaticLimits(), LocalRateLimiter(), meter=meter)
    for tenant, n in (("acme", 3), ("beta", 2)):
        for _ in range(n):
            await limits.admit(TenantCtx(tenant_id=TenantId(tenant), env_id=EnvId("prod")))
    assert meter.pending == 5
    await meter.flush()
    await meter.flush()  # nothing new: nothing written
    assert meter.pending == 0
    assert await totals(control, "acme") == {REQUESTS: 3}
    assert await totals(control, "beta") == {REQUESTS: 2}


async def test_a_failed_flush_is_retried_without_counting_twice(control: Control) -> None:
    flaky = Flaky(control.meters)
    meter = RequestMeter(flaky, process="p2", clock=control.clock)
    meter.count("acme", 10)
    meter.count("beta", 20)
    with pytest.raises(Unavailable):
        await meter.flush()  # acme written, beta not
    meter.count("acme", 1)  # counted meanwhile: the next batch
    assert meter.pending == 31
    await meter.flush()
    assert await totals(control, "acme") == {REQUESTS: 11}
    assert await totals(control, "beta") == {REQUESTS: 20}


async def test_deleted_tenants_are_dropped_and_run_flushes_at_the_end(control: Control) -> None:
    meter = RequestMeter(control.meters, interval=0.01, process="p3", clock=control.clock)
    meter.count("nobody", 4)
    meter.count("acme", 2)
    task = asyncio.create_task(meter.run())
    for _ in range(500):  # the first interval's flush, within 5 s
        if not meter.pending:
            break
        await asyncio.sleep(0.01)
    assert meter.pending == 0
    meter.count("acme", 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert meter.pending == 0
    assert await totals(control, "acme") == {REQUESTS: 7}
