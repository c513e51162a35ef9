"""Concurrent applies from separate processes' services serialise (or one conflicts cleanly).

PostgreSQL serialises applies with an advisory transaction lock; SQLite with its write lock,
taken before the plan reads (the second apply waits within the busy timeout). Whatever the
interleaving, the final state is exactly one of the bundles, never a mix.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from tenantry.bootstrap import Services, services
from tenantry.core.errors import Conflict, ErrorKind
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry.models import AppliedManifestRow
from tenantry.tenancy.registry.plan import Action, Plan
from tests.integration.registry.support import count, example, with_tenant

ROUNDS = 3


def renamed(suffix: str) -> Bundle:
    bundle = example()
    for tenant_id, spec in example().tenants.items():
        bundle = with_tenant(bundle, tenant_id, name=f"{spec.name} {suffix}")
    return bundle


async def race(settings: Settings, *bundles: Bundle) -> list[Plan | BaseException]:
    """Apply each bundle through its own freshly built services, all at once."""
    async with AsyncExitStack() as stack:
        built: list[Services] = [
            await stack.enter_async_context(services(settings)) for _ in bundles
        ]
        return await asyncio.gather(
            *(one.registry.apply(bundle) for one, bundle in zip(built, bundles, strict=True)),
            return_exceptions=True,
        )


def plans_or_clean_conflicts(outcomes: list[Plan | BaseException]) -> list[Plan | None]:
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Conflict):
            raise outcome
        if isinstance(outcome, Conflict):
            assert outcome.kind is ErrorKind.CONFLICT
    plans = [o if isinstance(o, Plan) else None for o in outcomes]
    assert any(plans), "at least one apply must succeed"
    return plans


async def names(services_: Services) -> dict[str, str]:
    return {t.id: t.name for t in await services_.registry.list()}


async def test_concurrent_applies_of_different_bundles_end_in_one_of_them(
    settings: Settings, wired: Services
) -> None:
    await wired.registry.apply(example())
    generation, applied = 1, 1
    for round_ in range(ROUNDS):
        bundles = {f"A{round_}": renamed(f"A{round_}"), f"B{round_}": renamed(f"B{round_}")}
        plans = plans_or_clean_conflicts(await race(settings, *bundles.values()))
        done = [(label, p) for label, p in zip(bundles, plans, strict=True) if p is not None]
        # The apply that ran last holds the highest generation; its bundle is what is stored.
        last_label, last = max(done, key=lambda item: item[1].changes[0].generation)
        generation += len(done)
        applied += len(done)
        assert [c.generation for c in last.changes] == [generation, generation]
        assert {c.action for _, p in done for c in p.changes} == {Action.CHANGED}
        expected = {t: s.name for t, s in bundles[last_label].tenants.items()}
        assert await names(wired) == expected
        stored = {t.id: t.generation for t in await wired.registry.list()}
        assert stored == {"acme": generation, "bigcorp": generation}
        assert await count(wired, AppliedManifestRow) == applied


async def test_concurrent_creates_of_the_same_bundle_write_it_once(
    settings: Settings, wired: Services
) -> None:
    plans = plans_or_clean_conflicts(await race(settings, example(), example()))
    actions = sorted(c.action for p in plans if p is not None for c in p.changes)
    assert actions[:2] == [Action.CREATED, Action.CREATED]
    assert set(actions[2:]) <= {Action.UNCHANGED}
    assert await count(wired, AppliedManifestRow) == 1
    assert {t.id: t.generation for t in await wired.registry.list()} == {"acme": 1, "bigcorp": 1}


async def test_concurrent_creates_of_different_specs_for_one_tenant(
    settings: Settings, wired: Services
) -> None:
    first, second = renamed("first"), renamed("second")
    plans = plans_or_clean_conflicts(await race(settings, first, second))
    done = [(b, p) for b, p in zip((first, second), plans, strict=True) if p is not None]
    winner, last = max(done, key=lambda item: item[1].changes[0].generation)
    assert [c.generation for c in last.changes] == [len(done)] * 2
    assert await names(wired) == {t: s.name for t, s in winner.tenants.items()}
