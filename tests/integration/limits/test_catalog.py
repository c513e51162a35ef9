"""Effective limits read from the registry: plans, the cache, generation changes, outages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenantry.core.errors import InvalidInput, NotFound, Unavailable
from tenantry.tenancy.limits.catalog import LimitsCatalog, resolve
from tenantry.tenancy.limits.plans import RateLimit, effective
from tenantry.tenancy.limits.schemas import Period, Resource, RouteClass
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry.database import create_engine, session_factory
from tests.integration.limits.conftest import BUNDLE, Control, write_bundle


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Switch:
    """A session factory whose database can be swapped for an unreachable one."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __call__(self) -> Any:
        return self.target()


async def test_limits_come_from_the_plan_and_overrides(control: Control) -> None:
    acme, beta, gamma = [await control.catalog.get(t) for t in ("acme", "beta", "gamma")]
    assert acme.storage[Resource.OBJECTS].count == 37 and beta.storage[Resource.OBJECTS].count == 3
    assert beta.storage[Resource.OBJECTS].bytes == 1000  # the rest of beta's plan holds
    assert acme.ai_tokens.cap == 205 and acme.ai_tokens.period is Period.MONTH
    assert acme.rates[RouteClass.DEFAULT] == RateLimit(50.0, 100)  # built-in where unset
    assert gamma == effective(None)


async def test_a_changed_plan_is_read_after_the_ttl(control: Control, tmp_path: Path) -> None:
    ticks = Ticks()
    catalog = LimitsCatalog(control.sessions, ttl=5.0, clock=ticks)
    before = await catalog.get("acme")
    changed = BUNDLE.replace("count: 37", "count: 99")
    await control.services.registry.apply(loader.load([write_bundle(tmp_path, changed)]))
    ticks.now = 4.9
    assert await catalog.get("acme") is before  # cached
    ticks.now = 5.0
    after = await catalog.get("acme")
    assert after.storage[Resource.OBJECTS].count == 99
    ticks.now = 10.0
    assert await catalog.get("acme") is after  # same generation: not resolved again
    catalog.invalidate("acme")
    assert await catalog.get("acme") == after
    catalog.invalidate()


async def test_unknown_and_bad_tenants(control: Control) -> None:
    with pytest.raises(NotFound) as caught:
        await control.catalog.get("nobody")
    assert caught.value.code == "tenant.not_found"
    for bad in ("ACME", "a:b", "global", ""):
        with pytest.raises(InvalidInput):
            await control.catalog.get(bad)


async def test_an_outage_serves_the_last_limits_never_none(
    control: Control, tmp_path: Path
) -> None:
    ticks, switch = Ticks(), Switch(control.sessions)
    catalog = LimitsCatalog(switch, ttl=1.0, clock=ticks)  # type: ignore[arg-type]
    known = await catalog.get("acme")
    down = create_engine("postgresql://postgres@127.0.0.1:1/none")
    try:
        switch.target = session_factory(down)
        ticks.now = 2.0
        assert await catalog.get("acme") is known  # stale but limited
        with pytest.raises(Unavailable):
            await catalog.get("beta")  # never seen: no limits to fall back on
        switch.target = control.sessions
        ticks.now = 4.0
        beta = loader.load([write_bundle(tmp_path)]).tenants["beta"].limits
        assert await catalog.get("beta") == effective(None, beta)
    finally:
        await down.dispose()


def test_resolve_reads_a_stored_limits_value() -> None:
    assert resolve(None) == effective(None)
    assert resolve({"rate": 7}).rates[RouteClass.DEFAULT].rate == 7.0
