"""Usage meters: idempotent records, sums per period, the AI token cap, confinement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select

from tenantry.core.errors import InvalidInput, NotFound
from tenantry.tenancy.events.catalog import data_schema
from tenantry.tenancy.events.models import OutboxRow
from tenantry.tenancy.events.schemas import EventType
from tenantry.tenancy.limits.errors import QuotaExceeded
from tenantry.tenancy.limits.meters import AI_TOKENS, Meters, period_label
from tenantry.tenancy.limits.models import UsageMeterRow
from tenantry.tenancy.limits.schemas import Granularity, Period
from tests.integration.limits.conftest import START, Control

DAY1 = datetime(2030, 1, 10, 9, 15, tzinfo=UTC)


async def meter_rows(control: Control) -> int:
    async with control.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(UsageMeterRow)) or 0)


async def seed(control: Control) -> None:
    events = [
        ("acme", "ai_tokens", 100, DAY1, "e1"),
        ("acme", "ai_tokens", 50, DAY1 + timedelta(minutes=30), "e2"),
        ("acme", "ai_tokens", 7, DAY1 + timedelta(hours=2), "e3"),
        ("acme", "requests", 3, DAY1 + timedelta(days=1), "e4"),
        ("acme", "ai_tokens", 1, DAY1 + timedelta(days=1, hours=5), "e5"),
        ("beta", "ai_tokens", 999, DAY1, "e1"),  # another tenant's identical key
    ]
    for tenant, resource, amount, ts, key in events:
        assert await control.meters.record(tenant, resource, amount, key=key, ts=ts)


async def test_meters_are_idempotent_per_tenant(control: Control) -> None:
    assert await control.meters.record("acme", "ai_tokens", 10, key="job-1:step-2")
    assert not await control.meters.record("acme", "ai_tokens", 10, key="job-1:step-2")
    assert not await control.meters.record("acme", "requests", 99, key="job-1:step-2")
    assert await control.meters.record("beta", "ai_tokens", 10, key="job-1:step-2")
    report = await control.meters.usage("acme", granularity=Granularity.TOTAL)
    assert report.totals == {"ai_tokens": 10}
    assert await meter_rows(control) == 2


async def test_concurrent_duplicates_count_once(control: Control) -> None:
    results = await asyncio.gather(
        *(control.meters.record("acme", "requests", 1, key=f"k{n % 10}") for n in range(60))
    )
    assert sum(results) == 10
    report = await control.meters.usage("acme", granularity=Granularity.TOTAL)
    assert report.totals == {"requests": 10}


async def test_usage_per_day_hour_and_total(control: Control) -> None:
    await seed(control)
    start, end = DAY1.replace(hour=0, minute=0), DAY1 + timedelta(days=3)
    daily = await control.meters.usage("acme", start=start, end=end)
    assert daily.tenant_id == "acme" and daily.granularity is Granularity.DAY
    assert daily.totals == {"ai_tokens": 158, "requests": 3}
    assert [(b.start.day, b.resource, b.amount) for b in daily.buckets] == [
        (10, "ai_tokens", 157),
        (11, "ai_tokens", 1),
        (11, "requests", 3),
    ]
    hourly = await control.meters.usage("acme", start=start, end=end, granularity="hour")  # type: ignore[arg-type]
    assert [(b.start.hour, b.amount) for b in hourly.buckets if b.start.day == 10] == [
        (9, 150),
        (11, 7),
    ]
    only = await control.meters.usage("acme", start=start, end=end, resource="requests")
    assert only.totals == {"requests": 3} and only.resource == "requests"
    total = await control.meters.usage("acme", start=start, end=end, granularity=Granularity.TOTAL)
    assert total.buckets == [] and total.totals == daily.totals
    edge = await control.meters.usage("acme", start=DAY1 + timedelta(minutes=1), end=end)
    assert edge.totals["ai_tokens"] == 58  # inside the first hour, 'from' is exact
    assert (await control.meters.usage("beta", start=start, end=end)).totals == {"ai_tokens": 999}


async def test_usage_defaults_to_this_month_and_reads_naive_times_as_utc(control: Control) -> None:
    await control.meters.record("acme", "ai_tokens", 5, key="now")  # at the clock: 2030-01-15
    await control.meters.record("acme", "ai_tokens", 9, key="old", ts=START - timedelta(days=30))
    report = await control.meters.usage("acme")
    assert report.start == datetime(2030, 1, 1, tzinfo=UTC)
    assert report.end == datetime(2030, 1, 15, 13, tzinfo=UTC)  # the end of the clock's hour
    naive = await control.meters.usage("acme", start=datetime(2030, 1, 1), end=datetime(2030, 2, 1))
    assert report.totals == naive.totals == {"ai_tokens": 5}
    dumped = report.model_dump(mode="json")
    assert dumped["from"] == "2030-01-01T00:00:00Z" and "start" not in dumped


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"start": START, "end": START}, "usage.period_invalid"),
        ({"start": START, "end": START - timedelta(hours=1)}, "usage.period_invalid"),
        (
            {"start": START - timedelta(days=40), "end": START, "granularity": Granularity.HOUR},
            "usage.period_invalid",
        ),
        ({"start": START - timedelta(days=400), "end": START}, "usage.period_invalid"),
        ({"resource": "AI"}, "meter.invalid"),
        ({"resource": "a:b"}, "meter.invalid"),
    ],
)
async def test_bad_usage_queries(control: Control, options: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await control.meters.usage("acme", **options)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("tenant", "resource", "amount", "key", "code"),
    [
        ("ACME", "ai_tokens", 1, "k", "id.invalid"),
        ("global", "ai_tokens", 1, "k", "id.invalid"),
        ("acme", "AI", 1, "k", "meter.invalid"),
        ("acme", "ai tokens", 1, "k", "meter.invalid"),
        ("acme", "x" * 33, 1, "k", "meter.invalid"),
        ("acme", "ai_tokens", 0, "k", "meter.invalid"),
        ("acme", "ai_tokens", -5, "k", "meter.invalid"),
        ("acme", "ai_tokens", True, "k", "meter.invalid"),
        ("acme", "ai_tokens", 10**16, "k", "meter.invalid"),
        ("acme", "ai_tokens", 1, "", "meter.invalid"),
        ("acme", "ai_tokens", 1, "a b", "meter.invalid"),
        ("acme", "ai_tokens", 1, "k" * 129, "meter.invalid"),
        ("acme", "ai_tokens", 1, "ключ", "meter.invalid"),
    ],
)
async def test_bad_meters_are_refused_and_write_nothing(
    control: Control, tenant: Any, resource: Any, amount: Any, key: Any, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await control.meters.record(tenant, resource, amount, key=key)
    assert caught.value.code == code
    if resource == "ai_tokens":
        with pytest.raises(InvalidInput):
            await control.meters.charge(tenant, amount, key=key)
    assert await meter_rows(control) == 0


async def test_unknown_tenants_are_not_found(control: Control) -> None:
    with pytest.raises(NotFound):
        await control.meters.record("nobody", "ai_tokens", 1, key="k")
    with pytest.raises(NotFound):
        await control.meters.charge("nobody", 1, key="k")
    with pytest.raises(NotFound):
        await control.meters.usage("nobody")
    assert await meter_rows(control) == 0


async def test_charges_stay_within_the_ai_token_cap(control: Control) -> None:
    charged = await control.meters.charge("acme", 200, key="flow-1")
    assert (charged.used, charged.cap, charged.remaining, charged.period) == (
        200,
        205,
        5,
        "2030-01",
    )
    again = await control.meters.charge("acme", 200, key="flow-1")  # a retry: nothing more
    assert not again.charged and again.used == 200
    with pytest.raises(QuotaExceeded) as caught:
        await control.meters.charge("acme", 6, key="flow-2")
    assert caught.value.details == {
        "resource": AI_TOKENS,
        "used": 200,
        "cap": 205,
        "period": "2030-01",
    }
    assert (await control.meters.charge("acme", 5, key="flow-3")).remaining == 0
    assert (await control.meters.allowance("acme")).used == 205
    report = await control.meters.usage("acme", granularity=Granularity.TOTAL)
    assert report.totals == {AI_TOKENS: 205}  # the refused charge left no meter behind
    assert (await control.meters.allowance("beta")).used == 0  # beta's cap is its own


async def test_a_refused_charge_is_announced_once_per_window(control: Control) -> None:
    await control.meters.charge("acme", 205, key="all-of-it")
    for key in ("over-1", "over-2"):
        with pytest.raises(QuotaExceeded):
            await control.meters.charge("acme", 1, key=key)
    async with control.sessions() as session:
        query = select(OutboxRow).where(OutboxRow.type == EventType.QUOTA_EXCEEDED.value)
        [row] = (await session.scalars(query)).all()
    data = row.event["data"]
    assert (row.tenant_id, data["resource"], data["used"], data["cap"]) == (
        "acme",
        AI_TOKENS,
        205,
        205,
    )
    jsonschema.validate(data, data_schema(EventType.QUOTA_EXCEEDED))


async def test_concurrent_charges_never_pass_the_cap(control: Control) -> None:
    async def flow(n: int) -> bool:
        try:
            await control.meters.charge("acme", 10, key=f"flow-{n}")
        except QuotaExceeded:
            return False
        return True

    results = await asyncio.gather(*(flow(n) for n in range(60)))
    assert sum(results) == 20
    assert (await control.meters.allowance("acme")).used == 200
    assert (await control.meters.usage("acme", granularity=Granularity.TOTAL)).totals == {
        AI_TOKENS: 200
    }


async def test_the_cap_resets_with_the_period(control: Control) -> None:
    await control.meters.charge("acme", 205, key="january")
    control.clock.now = datetime(2030, 2, 1, tzinfo=UTC)
    assert (await control.meters.charge("acme", 205, key="february")).period == "2030-02"


def test_period_labels() -> None:
    moment = datetime(2030, 12, 31, 23, 59, tzinfo=UTC)
    assert period_label(Period.MONTH, moment) == "2030-12"
    assert period_label(Period.DAY, moment) == "2030-12-31"
    ahead = moment.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert period_label(Period.DAY, ahead) == "2030-12-31"  # always the UTC day


async def test_charging_needs_a_limits_source(control: Control) -> None:
    with pytest.raises(TypeError, match="limits source"):
        await Meters(control.sessions).charge("acme", 1, key="k")
