"""Rate limits shared by every API process through Redis: GCRA in one Lua round trip.

Each decision is one ``EVALSHA`` of ``gcra.lua`` on the key ``limit:{tenant}:{class}``
(redis-py loads the script and retries once when the server does not know it yet). The script
reads the server's clock, so processes on different hosts agree on time.

When Redis is unreachable the limiter falls back to limiting in this process (never to no
limit): each process then admits up to the tenant's rate on its own. The first failure of an
outage is logged as a warning, and Redis is not asked again for ``probe_interval`` seconds, so
an outage costs one timeout per interval, not one per request. The first success logs that
shared limiting is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tenantry.backends.redis.errors import TRANSIENT
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.core.logging import get_logger
from tenantry.tenancy.limits import gcra
from tenantry.tenancy.limits.gcra import Decision
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.schemas import RouteClass

SCRIPT: Final = Path(__file__).with_name("gcra.lua").read_text()

log = get_logger(__name__)


class RedisRateLimiter:
    """A :class:`~tenantry.tenancy.limits.ports.RateLimiter` on Redis, local when it is down.

    Given a URL it owns a small connection pool with short timeouts (closed by :meth:`aclose`);
    given a client it borrows it.
    """

    def __init__(
        self,
        client: Redis | str,
        *,
        fallback: LocalRateLimiter | None = None,
        timeout: float = 0.5,
        probe_interval: float = 1.0,
        max_connections: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owned = isinstance(client, str)
        self.client = (
            _client(client, timeout, max_connections) if isinstance(client, str) else client
        )
        self._script = self.client.register_script(SCRIPT)
        self.fallback = fallback if fallback is not None else LocalRateLimiter()
        self._probe_interval, self._clock = probe_interval, clock
        self._down_since: float | None = None
        self._retry_at = 0.0

    @property
    def shared(self) -> bool:
        """False while Redis is unreachable and limits are kept in this process."""
        return self._down_since is None

    async def acquire(
        self,
        tenant_id: str,
        route_class: RouteClass,
        limit: RateLimit,
        *,
        cost: int = 1,
        now: float | None = None,
    ) -> Decision:
        """Decide on the shared state; ``now`` (seconds) replaces the server clock in tests."""
        gcra.check(limit.rate, limit.burst, cost)
        key = names.limit_key(tenant_id, route_class.value)
        if self._down_since is not None and self._clock() < self._retry_at:
            return self.fallback.take(tenant_id, route_class, limit, cost=cost)
        try:
            reply = await self._script(keys=[key], args=_args(limit, cost, now))
        except TRANSIENT as error:
            self._went_down(error)
            return self.fallback.take(tenant_id, route_class, limit, cost=cost)
        return self._answered(reply)

    async def acquire_key(
        self, key: str, limit: RateLimit, *, now: float | None = None
    ) -> Decision:
        """Decide one request on a door key (``names.door_limit_key``), shared like the rest."""
        gcra.check(limit.rate, limit.burst, 1)
        if self._down_since is not None and self._clock() < self._retry_at:
            return self.fallback.take_key(key, limit)
        try:
            reply = await self._script(keys=[key], args=_args(limit, 1, now))
        except TRANSIENT as error:
            self._went_down(error)
            return self.fallback.take_key(key, limit)
        return self._answered(reply)

    def _answered(self, reply: Sequence[object]) -> Decision:
        if self._down_since is not None:
            log.warning(
                "limits.redis_back", down_seconds=round(self._clock() - self._down_since, 3)
            )
            self._down_since = None
        return _decision(reply)

    def _went_down(self, error: BaseException) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "limits.redis_unreachable",
                error=f"{type(error).__name__}: {error}",
                fallback="in-process limits until Redis answers again",
            )
        self._retry_at = now + self._probe_interval

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


def _args(limit: RateLimit, cost: int, now: float | None) -> list[str | int]:
    return [repr(limit.rate), limit.burst, cost, "" if now is None else repr(now)]


def _decision(reply: Sequence[object]) -> Decision:
    allowed, tat, retry_after, remaining, reset = reply
    return Decision(
        bool(int(str(allowed))),
        float(_text(tat)),
        float(_text(retry_after)),
        int(str(remaining)),
        float(_text(reset)),
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _client(url: str, timeout: float, max_connections: int) -> Redis:
    try:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), retries=0),  # a failure falls back at once; no waiting
        )
    except ValueError as error:  # not shown: the URL may hold a password
        raise InvalidInput(f"the Redis URL is not valid: {error}", code="setting.invalid") from None
    return Redis.from_pool(pool)
