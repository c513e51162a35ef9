"""A pool serves only its own tenants, and a tenant with a long queue does not make another wait
behind it: each round takes one message per tenant environment."""

from __future__ import annotations

import dataclasses
from typing import Any

from tenantry.bootstrap import flow_slots
from tenantry.runtime.flows.turns import Turn
from tenantry.worker.runners import wiring
from tenantry.worker.runners.pool import PoolSettings
from tests.integration.runners.conftest import Stack, pool_of, running, until


class Recording:
    def __init__(self) -> None:
        self.order: list[str] = []

    async def run(self, scope: Any, flow: Any, session: Any, message: Any) -> Turn:
        self.order.append(scope.ctx.tenant_id)
        return Turn(replies=("ok",), cursor=None, variables=session.variables)


async def test_each_pool_serves_only_its_own_tenants(stack: Stack) -> None:
    shared = wiring.pool(stack.wired, "shared", None)  # type: ignore[arg-type]
    dedicated = wiring.pool(stack.wired, f"tenant:{stack.dedicated}", None)  # type: ignore[arg-type]
    await shared.refresh()
    await dedicated.refresh()
    assert {e.tenant_id for e in shared.entries} == {stack.shared}
    assert {e.tenant_id for e in dedicated.entries} == {stack.dedicated}


async def test_a_long_queue_does_not_delay_another_tenant(stack: Stack) -> None:
    for n in range(12):
        await stack.send(stack.shared, f"noisy {n}")
    quiet = await stack.send(stack.dedicated, "quiet")
    engine = Recording()
    async with flow_slots(stack.wired.settings, stack.wired.limits) as slots:
        one = pool_of(stack.wired, "*", slots, engine=engine)
        one.settings = dataclasses.replace(PoolSettings(), concurrency=1)
        async with running(one):
            await until(lambda: _replied(stack, quiet.session_id))
    assert stack.dedicated in engine.order[:2]  # its turn came in the first round


async def _replied(stack: Stack, session: str) -> bool:
    return bool(await stack.replies(stack.dedicated, session))
