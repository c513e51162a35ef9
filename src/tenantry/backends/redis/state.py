"""State on Redis: one key per session, exactly ``state:{tenant}:{env}:{team}:{session}``.

``get``/``set``/``delete``/``ttl`` are one command (one round trip) each. Bulk deletes walk the
tenant environment's (or team's) exact prefix with ``SCAN MATCH`` and ``UNLINK`` the keys in
batches, checking each key against the store's own key space first. One client (one connection
pool) is shared by every store of the process.
"""

from __future__ import annotations

import math
import re
from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from tenantry.backends.redis.errors import TRANSIENT, translated, unavailable
from tenantry.core.errors import InvalidInput
from tenantry.core.ids import EnvId, TenantId
from tenantry.runtime.state import values
from tenantry.runtime.state.errors import StateNotFound
from tenantry.runtime.state.keys import StateKeys
from tenantry.runtime.state.values import DEFAULT_MAX_VALUE_BYTES, JsonInput, JsonValue

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\^])")
_NO_KEY: Final = -2  # PTTL's answers
_NO_EXPIRY: Final = -1


def glob_literal(text: str) -> str:
    """``text`` as a Redis glob pattern that matches only itself."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


class RedisState:
    """The process-wide Redis client for state; :meth:`bind` hands out confined stores.

    Given a URL it builds (and on :meth:`aclose` closes) a bounded, blocking connection pool
    with short retries, so an outage fails fast as ``redis.unavailable``. Given a client it
    borrows it and leaves closing to the owner.
    """

    def __init__(
        self,
        client: Redis | str,
        *,
        max_connections: int = 50,
        timeout: float = 5.0,
        scan_batch: int = 500,
    ) -> None:
        self._owned = isinstance(client, str)
        self.client = (
            _client(client, max_connections, timeout) if isinstance(client, str) else client
        )
        self._scan_batch = scan_batch

    def bind(
        self, tenant_id: str, env_id: str, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    ) -> RedisStateStore:
        return RedisStateStore(
            self.client,
            tenant_id,
            env_id,
            max_value_bytes=max_value_bytes,
            scan_batch=self._scan_batch,
        )

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


def _client(url: str, max_connections: int, timeout: float) -> Redis:
    try:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,  # waiting for a free connection
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialWithJitterBackoff(cap=0.25, base=0.01), retries=2),
        )
    except ValueError as error:  # the URL itself is malformed; not shown, it may hold a password
        raise InvalidInput(f"the Redis URL is not valid: {error}", code="setting.invalid") from None
    return Redis.from_pool(pool)


class RedisStateStore:
    """A :class:`~tenantry.runtime.state.ports.StateStore` of one tenant environment."""

    def __init__(
        self,
        client: Redis,
        tenant_id: str,
        env_id: str,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        scan_batch: int = 500,
    ) -> None:
        self._keys = StateKeys.of(tenant_id, env_id)
        self._client = client
        self.max_value_bytes = values.check_limit(max_value_bytes)
        self._scan_batch = scan_batch

    @property
    def tenant_id(self) -> TenantId:
        return self._keys.tenant_id

    @property
    def env_id(self) -> EnvId:
        return self._keys.env_id

    async def get(self, team: str | None, session: str) -> JsonValue | None:
        key = self._keys.key(team, session)
        try:
            raw: bytes | str | None = await self._client.get(key)
        except TRANSIENT as error:
            raise unavailable(error) from error
        return None if raw is None else values.decode(raw)

    async def set(
        self, team: str | None, session: str, value: JsonInput, *, ttl: float | None = None
    ) -> None:
        key = self._keys.key(team, session)
        data = values.encode(value, limit=self.max_value_bytes)
        seconds = values.check_ttl(ttl)
        # Rounded up: a TTL never ends sooner than asked, and 0.0001 s is still 1 ms, not "never".
        millis = None if seconds is None else math.ceil(seconds * 1000)
        try:
            await self._client.set(key, data, px=millis)
        except TRANSIENT as error:
            raise unavailable(error) from error

    async def delete(self, team: str | None, session: str) -> bool:
        key = self._keys.key(team, session)
        try:
            removed: int = await self._client.unlink(key)
        except TRANSIENT as error:
            raise unavailable(error) from error
        return removed > 0

    async def ttl(self, team: str | None, session: str) -> float | None:
        key = self._keys.key(team, session)
        try:
            millis: int = await self._client.pttl(key)
        except TRANSIENT as error:
            raise unavailable(error) from error
        if millis == _NO_KEY:
            raise StateNotFound(f"no state for session {session!r} of team {team or 'default'}")
        return None if millis == _NO_EXPIRY else millis / 1000

    async def clear_team(self, team: str | None) -> int:
        return await self._clear(self._keys.team_prefix(team))

    async def clear(self) -> int:
        return await self._clear(self._keys.env_prefix())

    async def _clear(self, prefix: str) -> int:
        removed, batch = 0, []
        async with translated():
            async for raw in self._client.scan_iter(
                match=glob_literal(prefix) + "*", count=self._scan_batch
            ):
                key = raw.decode() if isinstance(raw, bytes) else raw
                # The pattern already confines the scan; this refuses anything it let through.
                if key.startswith(prefix) and self._keys.owns(key):
                    batch.append(key)
                if len(batch) >= self._scan_batch:
                    removed += await self._client.unlink(*batch)
                    batch = []
            if batch:
                removed += await self._client.unlink(*batch)
        return int(removed)
