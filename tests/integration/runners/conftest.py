"""The runners' stack: a tenant on the shared pool and one on its dedicated pool, each with a
webchat channel bound to its own flow; on the embedded default, or PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.runtime.flows.model import FlowDef
from tenantry.runtime.flows.turns import Turn, outgoing
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ingress import Accepted, Inbound
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.schemas import Session
from tenantry.tenancy.controller.service import Result
from tenantry.tenancy.limits.flow_slots import FlowSlots
from tenantry.tenancy.manifests import loader
from tenantry.worker.runners import wiring
from tenantry.worker.runners.pool import Pool
from tenantry.worker.runners.wiring import run_pools
from tests.conftest import empty

REDIS_URL = "redis://127.0.0.1:6379/12"

BUNDLE = """
tenants:
  {shared}:
    name: "Shared tenant"
    profile: mt-standard
    limits: {{max_flow_executions: 2}}
    environments: [{{id: prod}}]
    teams:
      support:
        flow: {shared}_flow
        channels:
          webchat: {{provider: messaging-webchat}}
  {dedicated}:
    name: "Dedicated tenant"
    profile: st-dedicated
    environments: [{{id: prod}}]
    teams:
      helpdesk:
        channels:
          webchat: {{provider: messaging-webchat, flow: {dedicated}_flow}}
flows:
  - name: {shared}_flow
    version: "1.0"
    nodes:
      - {{id: greet, type: reply, config: {{message: "Shared here"}}}}
  - name: {dedicated}_flow
    version: "1.0"
    nodes:
      - {{id: greet, type: reply, config: {{message: "Dedicated here"}}}}
"""


@dataclass(frozen=True)
class Stack:
    wired: Services
    shared: str  # an mt-standard tenant, team support
    dedicated: str  # an st-dedicated tenant, team helpdesk

    def ctx(self, tenant: str) -> TenantCtx:
        team = "support" if tenant == self.shared else "helpdesk"
        return TenantCtx(tenant_id=tenant, env_id="prod", team_id=team)

    async def send(self, tenant: str, text: str, session: str | None = None) -> Accepted:
        scope = await self.wired.scopes.open(self.ctx(tenant))
        inbound = Inbound(channel_id="webchat", user_id="u1", text=text, session_id=session)
        return await self.wired.ingress.accept(scope, inbound)

    async def session(self, tenant: str, session: str) -> Session:
        scope = await self.wired.scopes.open(self.ctx(tenant))
        return await scope.team.sessions.get(session)

    async def replies(self, tenant: str, session: str) -> list[str]:
        return [entry.text for entry in outgoing(await self.session(tenant, session))]


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.postgres)])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        pool_refresh_seconds=0.2,
        order_gap_seconds=2.0,
    )
    if request.param == "real":
        url = empty(request.getfixturevalue("postgres_url"))
        settings = settings.model_copy(update={"database_url": url, "redis_url": REDIS_URL})
    token = uuid.uuid4().hex[:8]
    shared, dedicated = f"rs{token}", f"rd{token}"
    path = tmp_path / "bundle.yaml"
    path.write_text(BUNDLE.format(shared=shared, dedicated=dedicated))
    async with services(settings) as wired:
        await wired.registry.apply(loader.load([path]))
        for tenant in (shared, dedicated):
            await _reconciled(wired, tenant)
        yield Stack(wired, shared, dedicated)


class SlowEngine:
    """Answers ``re:{text}``; a message whose text starts with ``slow`` takes a while, and the
    most executions seen at once per tenant are kept."""

    def __init__(self) -> None:
        self.running: dict[str, int] = {}
        self.most: dict[str, int] = {}

    async def run(
        self, scope: TenantScope, flow: FlowDef, session: Session, message: Envelope
    ) -> Turn:
        tenant = scope.ctx.tenant_id
        self.running[tenant] = self.running.get(tenant, 0) + 1
        self.most[tenant] = max(self.most.get(tenant, 0), self.running[tenant])
        try:
            await asyncio.sleep(0.3 if message.text.startswith("slow") else 0.01)
        finally:
            self.running[tenant] -= 1
        return Turn(replies=(f"re:{message.text}",), cursor=None, variables=session.variables)


def pool_of(wired: Services, name: str, slots: FlowSlots, **changes: Any) -> Pool:
    """The pool ``name`` with its processor's fields changed (an engine, a bus...)."""
    made = wiring.pool(wired, name, slots)
    made.processor = dataclasses.replace(made.processor, **changes)
    if "bus" in changes:
        made.bus = changes["bus"]
    return made


@contextlib.asynccontextmanager
async def running(*started: Pool) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(p.run(stop)) for p in started]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def _reconciled(wired: Services, tenant: str) -> None:
    """Reconcile until ready: other test sessions on the same PostgreSQL server drop tenant
    databases they did not make now and then, which degrades a reconcile (then retried)."""
    for _ in range(5):
        outcome = await wired.controller.reconcile(tenant)
        if outcome.result is Result.READY:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{tenant} was not provisioned: {outcome}")


@contextlib.asynccontextmanager
async def pools(wired: Services, name: str = "*") -> AsyncIterator[asyncio.Event]:
    """The pool ``name`` running in the background until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_pools(wired, name, stop=stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


async def until(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0) -> None:
    """Wait until ``check`` holds (a bound, not a timing assertion)."""
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not hold in time")
