"""Tenantry's side of ``bench/messaging.py``: ten tenants with the spec's one-node reply flow,
on PostgreSQL (control database), Redis and the real NATS JetStream.

The load goes in as webchat's does (:meth:`Ingress.accept` under the tenant's scope: the
session read, the envelope published with ack; in one of the fairness measures also through
the tenant's rate limit first, as webchat's ``POST`` is) and the replies are read as the egress
dispatcher reads them (``bus.fetch`` of the tenant's egress consumer, acked). Between the two,
``tenantry worker --pool shared`` processes: fetch, checks, the flow, the sealed session
write (fsync unless ``TENANTRY_SESSION_FSYNC=false``), the reply published, the ack.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench.anchor import driver
from bench.messaging_load import Refused
from tenantry.bootstrap import Services, services
from tenantry.core import names
from tenantry.core.context import TenantCtx
from tenantry.core.errors import RateLimited, TenantryError
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ingress import Inbound
from tenantry.tenancy.controller.resources import Resource
from tenantry.tenancy.manifests import loader

NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
TEAM, CHANNEL, ENV = "support", "webchat", "prod"
FLOW = """
name: bench_flow
version: "1.0"
nodes:
  - id: greet
    type: reply
    config:
      message: "Welcome to ACME Support! How can I help?"
"""


def _bundle(tenants: Sequence[str]) -> str:
    entries = "".join(
        f"""
  {tenant}:
    name: "Bench {tenant}"
    profile: mt-standard
    environments: [{{id: {ENV}}}]
    teams:
      {TEAM}:
        flow: bench_flow
        channels:
          {CHANNEL}: {{provider: messaging-webchat}}
"""
        for tenant in tenants
    )
    return "tenants:" + entries


@dataclass(frozen=True, slots=True)
class Deployed:
    wired: Services
    env: dict[str, str]  # the worker processes' environment
    tenants: list[str]


@asynccontextmanager
async def deployed(tenants: Sequence[str]) -> AsyncIterator[Deployed]:
    """The tenants applied and provisioned in a fresh control database and data directory;
    their streams' subjects and consumers retired at the end."""
    name = f"bench_msg_{uuid.uuid4().hex[:6]}"
    driver.fresh_database(name)
    folder = Path(tempfile.mkdtemp(prefix="tenantry-bench-msg-"))
    url = driver.ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    settings = Settings(database_url=url, data_dir=folder, nats_url=NATS_URL, redis_url=REDIS_URL)
    env = {
        "TENANTRY_DATABASE_URL": url,
        "TENANTRY_DATA_DIR": str(folder),
        "TENANTRY_NATS_URL": NATS_URL,
        "TENANTRY_REDIS_URL": REDIS_URL,
        "TENANTRY_LOG_LEVEL": "WARNING",
    }
    try:
        async with services(settings) as wired:
            bundle = folder / "bundle"
            (bundle / "flows").mkdir(parents=True)
            (bundle / "bundle.yaml").write_text(_bundle(tenants))
            (bundle / "flows" / "bench_flow.yaml").write_text(FLOW)
            await wired.registry.apply(loader.load([bundle]))
            outcomes = await wired.controller.reconcile_many(list(tenants), concurrency=4)
            assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
            try:
                yield Deployed(wired, env, list(tenants))
            finally:
                await _retire(wired, tenants)
    finally:
        driver.drop_database(name)
        shutil.rmtree(folder, ignore_errors=True)


async def _retire(wired: Services, tenants: Sequence[str]) -> None:
    """Take the tenants' subjects and consumers off the shared streams (the rest is in the
    dropped database and the removed folder)."""
    provisioners = {p.kind.value: p for p in wired.controller.provisioners}
    for tenant in tenants:
        for item in (await wired.registry.get(tenant)).resources:
            if item["kind"] == "messaging":
                with suppress(Exception):
                    await provisioners[item["kind"]].retire(Resource.from_dict(item))


class OursSide:
    """The load's end: webchat's way in, the egress dispatcher's way out."""

    def __init__(self, wired: Services, tenants: Sequence[str], *, doors: bool = False) -> None:
        """With ``doors``, each message first takes a request from its tenant's rate limit, as
        webchat's ``POST`` does (refused past it: :class:`Refused`)."""
        self.wired, self.tenants, self.doors = wired, list(tenants), doors
        self._readers: list[asyncio.Task[None]] = []

    async def start(self, on_reply: Callable[[str], None]) -> None:
        self._readers = [
            asyncio.create_task(self._replies(tenant, on_reply)) for tenant in self.tenants
        ]

    async def _replies(self, tenant: str, on_reply: Callable[[str], None]) -> None:
        while True:
            try:
                found = await self.wired.bus.fetch(names.Direction.EGRESS, tenant, ENV, batch=64)
            except TenantryError:  # a fetch timed out on a busy server: the replies wait
                await asyncio.sleep(0.05)
                continue
            for delivery in found:
                envelope = Envelope.decode(delivery.data)
                if envelope.in_reply_to is not None:
                    on_reply(envelope.in_reply_to)
                await delivery.ack()

    async def send(self, tenant: str, session: str | None, key: str, text: str) -> str:
        ctx = TenantCtx(tenant_id=tenant, env_id=ENV, team_id=TEAM)
        if self.doors:
            try:
                await self.wired.limits.admit(ctx)
            except RateLimited as error:
                raise Refused(error.code) from error
        scope = await self.wired.scopes.open(ctx)
        inbound = Inbound(CHANNEL, "bench-user", text, session_id=session, message_id=key)
        accepted = await self.wired.ingress.accept(scope, inbound)
        return accepted.session_id

    async def stop(self) -> None:
        for reader in self._readers:
            reader.cancel()
        for reader in self._readers:
            with suppress(asyncio.CancelledError):
                await reader
        self._readers = []
