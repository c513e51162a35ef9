"""Session message counters shared through Redis: ``INCR`` and a renewed expiry, one round trip."""

from __future__ import annotations

from typing import Final

from redis.asyncio import Redis

from tenantry.backends.redis.errors import translated
from tenantry.backends.redis.limiter import _client
from tenantry.runtime.messaging.sequences import IDLE_DAYS

_NEXT: Final = """
local value = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return value
"""
_GIVE_BACK: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DECR', KEYS[1]) end
return 1
"""


class RedisSessionSequences:
    def __init__(self, client: Redis | str) -> None:
        self._owned = isinstance(client, str)
        self.client = _client(client, 0.5, 100) if isinstance(client, str) else client
        self._next = self.client.register_script(_NEXT)
        self._give_back = self.client.register_script(_GIVE_BACK)

    async def next(self, key: str) -> int:
        async with translated():
            return int(await self._next(keys=[key], args=[IDLE_DAYS * 86_400]))

    async def give_back(self, key: str, seq: int) -> None:
        async with translated():
            await self._give_back(keys=[key], args=[str(seq)])

    async def close(self) -> None:
        if self._owned:
            await self.client.aclose()
