"""Admission: the in-process limiter, concurrency slots, headers and the 429 error."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tenantry.core.context import TenantCtx
from tenantry.core.errors import ErrorKind, RateLimited
from tenantry.core.ids import EnvId, TenantId
from tenantry.tenancy.limits import plans
from tenantry.tenancy.limits.catalog import StaticLimits
from tenantry.tenancy.limits.concurrency import ConcurrencyLimiter
from tenantry.tenancy.limits.errors import ConcurrencyExceeded, RateLimitExceeded
from tenantry.tenancy.limits.gcra import Decision
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.refusals import MEMO_SECONDS, RefusalMemo
from tenantry.tenancy.limits.schemas import LimitsSpec, RouteClass
from tenantry.tenancy.limits.service import LimitsService, rate_limit_headers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ctx(tenant: str = "acme") -> TenantCtx:
    return TenantCtx(tenant_id=TenantId(tenant), env_id=EnvId("prod"))


def service(clock: Clock, **limits: object) -> LimitsService:
    effective = plans.effective(LimitsSpec.model_validate(limits))
    return LimitsService(
        StaticLimits(effective), CountingLimiter(clock), refusals=RefusalMemo(clock=clock)
    )


class CountingLimiter(LocalRateLimiter):
    """The in-process limiter, counting how often it is asked."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.asked = 0

    async def acquire(
        self, tenant_id: str, route_class: RouteClass, limit: RateLimit, *, cost: int = 1
    ) -> Decision:
        self.asked += 1
        return await super().acquire(tenant_id, route_class, limit, cost=cost)


async def test_admit_answers_the_ratelimit_headers_then_refuses_with_429() -> None:
    clock = Clock()
    limits = service(clock, rate=2, burst=3)
    first = await limits.admit(ctx())
    assert first.headers == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "3;w=2",
    }
    await limits.admit(ctx())
    await limits.admit(ctx())
    with pytest.raises(RateLimitExceeded) as caught:
        await limits.admit(ctx())
    error = caught.value
    assert isinstance(error, RateLimited) and error.kind is ErrorKind.RATE_LIMITED
    assert error.kind.transient and error.code == "rate.limited"
    assert error.retry_after == pytest.approx(0.5)
    assert error.headers["RateLimit-Remaining"] == "0"
    assert "acme" in error.message and "retry in 0.50 s" in error.message
    clock.now += 0.5
    assert (await limits.admit(ctx())).remaining == 0


async def test_tenants_and_route_classes_have_their_own_buckets() -> None:
    clock = Clock()
    limits = service(clock, rate=1, burst=2, authoring_rate=1, authoring_burst=1)
    for _ in range(2):
        await limits.admit(ctx("noisy"))
    with pytest.raises(RateLimitExceeded):
        await limits.admit(ctx("noisy"))
    assert (await limits.admit(ctx("quiet"))).remaining == 1  # untouched by the noisy one
    authoring = await limits.admit(ctx("quiet"), RouteClass.AUTHORING)
    assert authoring.remaining == 0 and authoring.limit == RateLimit(1.0, 1)
    with pytest.raises(RateLimitExceeded) as caught:
        await limits.admit(ctx("quiet"), RouteClass.AUTHORING)
    assert caught.value.details["route_class"] == "authoring"


async def refused(limits: LimitsService, tenant: str = "acme") -> RateLimitExceeded:
    with pytest.raises(RateLimitExceeded) as caught:
        await limits.admit(ctx(tenant))
    return caught.value


async def test_a_refusal_is_remembered_until_a_request_could_pass() -> None:
    clock = Clock()
    limits = service(clock, rate=2, burst=1)
    assert isinstance(limits.rates, CountingLimiter)
    await limits.admit(ctx())
    first = await refused(limits)
    asked = limits.rates.asked
    clock.now += 0.2
    again = await refused(limits)  # answered from the memo: the limiter is not asked
    assert limits.rates.asked == asked and bool(limits.refusals)
    assert again.retry_after == pytest.approx(first.retry_after - 0.2)
    assert again.headers == first.headers and again.details == first.details
    assert "retry in 0.30 s" in again.message
    clock.now += 0.3  # the limiter's retry time: asked again, and admits
    assert (await limits.admit(ctx())).remaining == 0
    assert limits.rates.asked == asked + 1


async def test_a_remembered_refusal_touches_no_other_tenant_or_route_class() -> None:
    clock = Clock()
    limits = service(clock, rate=1, burst=1, authoring_rate=1, authoring_burst=1)
    await limits.admit(ctx("noisy"))
    await refused(limits, "noisy")
    assert limits.refusals.refusal("noisy", RouteClass.DEFAULT) is not None
    assert limits.refusals.refusal("noisy", RouteClass.AUTHORING) is None
    assert limits.refusals.refusal("quiet", RouteClass.DEFAULT) is None
    assert (await limits.admit(ctx("noisy"), RouteClass.AUTHORING)).remaining == 0
    assert (await limits.admit(ctx("quiet"))).remaining == 0


async def test_a_long_refusal_is_remembered_briefly_so_a_raised_limit_applies() -> None:
    clock = Clock()
    limits = service(clock, rate=0.01, burst=1)  # one request per 100 s
    await limits.admit(ctx())
    assert (await refused(limits)).retry_after == pytest.approx(100)
    asked = limits.rates.asked
    clock.now += MEMO_SECONDS
    assert (await refused(limits)).retry_after == pytest.approx(100 - MEMO_SECONDS)
    assert limits.rates.asked == asked + 1  # the memo lapsed: the limiter was asked again


def test_lapsed_refusals_are_swept_as_the_memo_grows() -> None:
    clock = Clock()
    memo = RefusalMemo(clock=clock)
    decision = Decision(False, 0.0, 0.5, 0, 1.0)
    for n in range(5_000):
        memo.remember(f"t{n}", RouteClass.DEFAULT, RateLimit(1.0, 1), decision)
        clock.now += 0.001
    assert len(memo._refused) < 5_000
    clock.now += 1
    assert memo.refusal("t4999", RouteClass.DEFAULT) is None and not memo._refused.get(
        ("t4999", RouteClass.DEFAULT)
    )


def test_the_local_limiter_forgets_idle_keys() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(clock=clock)
    limit = RateLimit(1000.0, 10)
    for n in range(50):
        limiter.take(f"t{n}", RouteClass.DEFAULT, limit)
    assert len(limiter) == 50
    clock.now += 60
    limiter._sweep(clock.now)
    assert len(limiter) == 0


def test_headers_round_reset_up_and_name_a_window() -> None:
    assert rate_limit_headers(RateLimit(50.0, 100), 99, 0.02) == {
        "RateLimit-Limit": "100",
        "RateLimit-Remaining": "99",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "100;w=2",
    }


async def test_in_flight_slots_are_per_tenant_and_come_back() -> None:
    limits = service(Clock(), max_in_flight=2, max_flow_executions=1)
    async with limits.in_flight(ctx()), limits.in_flight(ctx()):
        assert limits.requests.held("acme") == 2
        with pytest.raises(ConcurrencyExceeded) as caught:
            async with limits.in_flight(ctx()):
                pass
        assert caught.value.code == "concurrency.limited" and caught.value.retry_after == 1.0
        async with limits.in_flight(ctx("other")):
            assert limits.requests.held("other") == 1
    assert limits.requests.held("acme") == 0
    async with limits.flow_execution(ctx()):
        with pytest.raises(ConcurrencyExceeded, match="flow executions"):
            async with limits.flow_execution(ctx()):
                pass


async def test_a_failing_or_cancelled_holder_gives_its_slot_back() -> None:
    slots = ConcurrencyLimiter("requests in flight")
    with pytest.raises(RuntimeError):
        async with slots.hold("acme", 1):
            raise RuntimeError("boom")
    assert slots.held("acme") == 0
    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with slots.hold("acme", 1):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold_forever())
    await entered.wait()
    assert slots.held("acme") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slots.held("acme") == 0


async def test_concurrent_holders_never_exceed_the_limit() -> None:
    slots, peak, refused = ConcurrencyLimiter("requests in flight"), 0, 0

    async def request() -> None:
        nonlocal peak, refused
        try:
            async with slots.hold("acme", 5) as held:
                peak = max(peak, held)
                await asyncio.sleep(0)
        except ConcurrencyExceeded:
            refused += 1

    await asyncio.gather(*(request() for _ in range(100)))
    assert peak == 5 and refused == 95 and slots.held("acme") == 0


async def test_static_limits_check_the_tenant_id() -> None:
    source = StaticLimits()
    assert (await source.get("acme")) == plans.effective(None)
    with pytest.raises(Exception, match="invalid tenant id"):
        await source.get("ACME")
    assert replace(source.limits, max_in_flight=1).max_in_flight == 1


async def test_an_admission_can_hold_an_in_flight_slot() -> None:
    limits = service(Clock(), max_in_flight=1)
    admission = await limits.admit(ctx(), hold_slot=True)
    assert limits.requests.held("acme") == 1
    with pytest.raises(ConcurrencyExceeded):
        await limits.admit(ctx(), hold_slot=True)
    admission.release()
    admission.release()  # twice is once
    assert limits.requests.held("acme") == 0
    plain = await limits.admit(ctx())
    assert plain.slot is None and limits.requests.held("acme") == 0
    plain.release()


def test_slots_release_once() -> None:
    slots = ConcurrencyLimiter("requests in flight")
    first, second = slots.take("acme", 2), slots.take("acme", 2)
    assert (first.held, second.held) == (1, 2)
    first.release()
    first.release()
    assert slots.held("acme") == 1
    second.release()
    assert slots.held("acme") == 0
