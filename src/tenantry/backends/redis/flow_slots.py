"""Flow execution slots shared by every worker process through Redis.

A tenant's slots are a sorted set ``flows:{tenant}`` of lease ids scored by their expiry (the
server's clock, in milliseconds): taking one drops the expired leases, counts the rest and adds
one if under the limit, in one Lua round trip. Held leases are renewed every third of the lease
time, so only a dead process's leases lapse. While Redis is unreachable, slots are counted in
this process (never unlimited), as the rate limiter does.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from redis.asyncio import Redis

from tenantry.backends.redis.errors import TRANSIENT
from tenantry.backends.redis.limiter import _client
from tenantry.core import names
from tenantry.core.logging import get_logger
from tenantry.tenancy.limits.flow_slots import FlowSlot, LocalFlowSlots, lease_id

log = get_logger(__name__)

TAKE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
RENEW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, lease in ipairs(ARGV) do
  if i > 1 then redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), lease) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


class _Lease:
    __slots__ = ("_slots", "lease", "tenant_id")

    def __init__(self, slots: RedisFlowSlots, tenant_id: str, lease: str) -> None:
        self._slots, self.tenant_id, self.lease = slots, tenant_id, lease

    async def release(self) -> None:
        await self._slots._give_back(self)


class RedisFlowSlots:
    def __init__(
        self, client: Redis | str, *, lease: float = 60.0, fallback: LocalFlowSlots | None = None
    ) -> None:
        self._owned = isinstance(client, str)
        self.client = _client(client, 0.5, 100) if isinstance(client, str) else client
        self._take = self.client.register_script(TAKE)
        self._renew = self.client.register_script(RENEW)
        self._lease_ms = int(lease * 1000)
        self._held: dict[str, set[str]] = {}
        self.fallback = fallback or LocalFlowSlots()
        self._renewing: asyncio.Task[None] | None = None

    async def take(self, tenant_id: str, limit: int) -> FlowSlot | None:
        key, lease = names.flow_slots_key(tenant_id), lease_id()
        try:
            taken = await self._take(keys=[key], args=[limit, lease, self._lease_ms])
        except TRANSIENT as error:
            log.warning("flow_slots.redis_unavailable", error=str(error))
            return await self.fallback.take(tenant_id, limit)
        if not taken:
            return None
        self._held.setdefault(tenant_id, set()).add(lease)
        self._start_renewing()
        return _Lease(self, tenant_id, lease)

    async def _give_back(self, lease: _Lease) -> None:
        held = self._held.get(lease.tenant_id)
        if held is None or lease.lease not in held:
            return
        held.discard(lease.lease)
        if not held:
            del self._held[lease.tenant_id]
        with contextlib.suppress(*TRANSIENT):  # unreachable: the lease lapses on its own
            await self.client.zrem(names.flow_slots_key(lease.tenant_id), lease.lease)

    def _start_renewing(self) -> None:
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.create_task(self._renew_held())

    async def _renew_held(self) -> None:
        while self._held:
            await asyncio.sleep(self._lease_ms / 3000)
            for tenant_id, leases in list(self._held.items()):
                with contextlib.suppress(*TRANSIENT):
                    key = names.flow_slots_key(tenant_id)
                    await self._renew(keys=[key], args=[self._lease_ms, *leases])

    async def close(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        if self._owned:
            await self.client.aclose()
