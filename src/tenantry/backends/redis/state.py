"""State on Redis: one key per session, exactly ``state:{tenant}:{env}:{team}:{session}``.

``get``/``delete``/``ttl`` are one command (one round trip) each, and so is a ``set`` unless it
needs room from a real quota (see below). Bulk deletes walk the tenant environment's (or
team's) counted values, then its exact prefix with ``SCAN MATCH``, and ``UNLINK`` the keys in
batches, checking each key against the store's own key space first. One client (one
connection pool) is shared by every store of the process.

Quota (``runtime.state.accounting``): each tenant environment has a ledger,
``state-sizes:{tenant}:{env}`` (the counted size of each value) and ``state-expiry:{tenant}:{env}``
(when each value with a TTL expires), changed only by the Lua scripts next to this module, in
the same script as the values themselves. Redis forgets an expired value without telling
anyone, so the ledger remembers it. A write is ``state_set.lua``: it purges up to
:data:`PURGE_BATCH` expired values (whose sizes the writer gives back), then writes at once if
the write needs no room from the quota (it replaces a counted value at least as large, or the
store's quota is ``UNLIMITED``) and answers the counted size it replaced. Otherwise it writes
nothing and answers that size; the writer reserves the growth (or the new value) and runs the
same script again, now writing only if the counted size is unchanged. A delete returns the
counted size in the same script. The scripts name value keys they derive from the ledger, so
they need a single Redis (no Cluster).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from tenantry.backends.redis.errors import TRANSIENT, translated, unavailable
from tenantry.core.errors import InvalidInput
from tenantry.core.ids import EnvId, SessionId, TeamId, TenantId
from tenantry.runtime.quota import UNLIMITED, StorageQuota
from tenantry.runtime.state import accounting, values
from tenantry.runtime.state.accounting import Counted, Freed
from tenantry.runtime.state.errors import StateNotFound
from tenantry.runtime.state.keys import StateKeys
from tenantry.runtime.state.values import DEFAULT_MAX_VALUE_BYTES, JsonInput, JsonValue

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\^])")
_NO_KEY: Final = -2  # PTTL's answers
_NO_EXPIRY: Final = -1
_NOT_COUNTED: Final = -1  # the scripts' answer for a value without a count
_ANY: Final = "any"  # state_set.lua's conditions (besides an expected counted size)
_FITS: Final = "fits"
_NONE_FREED: Final = Freed()  # shared: a frozen dataclass is slow to build on the hot path
PURGE_BATCH: Final = 64  # expired values a write purges on its way
THOROUGH_BATCH: Final = 10_000  # ... when its quota refused it


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
        self._scripts = _Scripts.of(self.client)

    def bind(
        self,
        tenant_id: str,
        env_id: str,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> RedisStateStore:
        return RedisStateStore(
            self.client,
            tenant_id,
            env_id,
            max_value_bytes=max_value_bytes,
            scan_batch=self._scan_batch,
            quota=quota,
            scripts=self._scripts,
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
        quota: StorageQuota = UNLIMITED,
        scripts: _Scripts | None = None,
    ) -> None:
        self._keys = StateKeys.of(tenant_id, env_id)
        self._client = client
        self.max_value_bytes = values.check_limit(max_value_bytes)
        self._scan_batch = scan_batch
        self._quota = quota
        self._ledger = _Ledger(client, self._keys, scripts or _Scripts.of(client))

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
        await accounting.write(self._quota, self._ledger, key, data, seconds)

    async def delete(self, team: str | None, session: str) -> bool:
        key = self._keys.key(team, session)
        live, freed = await self._ledger.delete(key)
        await accounting.give_back(self._quota, freed)
        return live

    async def ttl(self, team: str | None, session: str) -> float | None:
        key = self._keys.key(team, session)
        try:
            millis: int = await self._client.pttl(key)
        except TRANSIENT as error:
            raise unavailable(error) from error
        if millis == _NO_KEY:
            raise StateNotFound(f"no state for session {session!r} of team {team or 'default'}")
        return None if millis == _NO_EXPIRY else millis / 1000

    async def entries(self) -> list[tuple[TeamId, SessionId]]:
        prefix, found = self._keys.env_prefix(), []
        async with translated():
            async for raw in self._client.scan_iter(
                match=glob_literal(prefix) + "*", count=self._scan_batch
            ):
                key = raw.decode() if isinstance(raw, bytes) else raw
                if key.startswith(prefix) and self._keys.owns(key):
                    found.append(self._keys.entry(key))
        return sorted(set(found))

    async def clear_team(self, team: str | None) -> int:
        return await self._clear(self._keys.team_prefix(team))

    async def clear(self) -> int:
        return await self._clear(self._keys.env_prefix())

    async def _clear(self, prefix: str) -> int:
        live, freed = await self._ledger.drop(prefix, batch=self._scan_batch)
        await accounting.give_back(self._quota, freed)
        return live + await self._unlink_uncounted(prefix)

    async def _unlink_uncounted(self, prefix: str) -> int:
        """Values the ledger does not know (written before values were counted)."""
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


_HERE = Path(__file__).parent


class _Scripts:
    """The ledger's scripts, registered once per client (redis-py loads them on first use)."""

    def __init__(self, set: AsyncScript, delete: AsyncScript, drop: AsyncScript) -> None:
        self.set, self.delete, self.drop = set, delete, drop

    @classmethod
    def of(cls, client: Redis) -> _Scripts:
        def script(name: str) -> AsyncScript:
            return client.register_script((_HERE / f"state_{name}.lua").read_text())

        return cls(script("set"), script("delete"), script("drop"))


class _Ledger:
    """The :class:`~tenantry.runtime.state.accounting.Ledger` of one tenant environment."""

    def __init__(self, client: Redis, keys: StateKeys, scripts: _Scripts) -> None:
        self._client, self._keys, self._scripts = client, keys, scripts
        self._sizes, self._expiry = keys.ledger()
        self._prefix = keys.env_prefix()

    async def write_or_count(
        self, key: str, data: bytes, ttl: float | None, *, thorough: bool, unlimited: bool
    ) -> Counted:
        batch = THOROUGH_BATCH if thorough else PURGE_BATCH
        return await self._set(key, data, ttl, purge=batch, when=_ANY if unlimited else _FITS)

    async def write_if(
        self, key: str, data: bytes, ttl: float | None, *, counted: int | None
    ) -> bool:
        expected = _NOT_COUNTED if counted is None else counted
        # The first call of this write purged already, so this one does not.
        return (await self._set(key, data, ttl, purge=0, when=expected)).written

    async def _set(
        self, key: str, data: bytes, ttl: float | None, *, purge: int, when: str | int
    ) -> Counted:
        # Rounded up: a TTL never ends sooner than asked, and 0.0001 s is still 1 ms, not "never".
        millis = 0 if ttl is None else math.ceil(ttl * 1000)
        if not key.startswith(self._prefix):  # StateKeys.member, without rebuilding the prefix
            raise ValueError(f"{key!r} is not a key of {self._prefix!r}")
        member = key[len(self._prefix) :]
        script = self._scripts.set
        try:
            try:  # EVALSHA itself: redis-py's Script wrapper costs a coroutine and copies
                reply = await self._client.evalsha(
                    script.sha, 3, key, self._sizes, self._expiry, member, purge, data, millis, when
                )
            except NoScriptError:  # a fresh or flushed server: the wrapper loads it and runs it
                reply = await script(
                    keys=[key, self._sizes, self._expiry], args=[member, purge, data, millis, when]
                )
        except TRANSIENT as error:  # translated() inlined: this is the hot path
            raise unavailable(error) from error
        done, size, purged, items = map(int, reply.split())
        found = None if size == _NOT_COUNTED else size
        return Counted(found, Freed(purged, items) if items else _NONE_FREED, written=bool(done))

    async def delete(self, key: str) -> tuple[bool, Freed]:
        """Whether a live value was removed, and what its count frees."""
        async with translated():
            live, size = await self._scripts.delete(
                keys=[key, self._sizes, self._expiry], args=[self._keys.member(key)]
            )
        return bool(live), Freed() if size == _NOT_COUNTED else Freed(int(size), 1)

    async def drop(self, prefix: str, *, batch: int) -> tuple[int, Freed]:
        """Delete every counted value under ``prefix``; how many were live, and what frees."""
        pattern = glob_literal(self._keys.member(prefix)) + "*"
        live, freed, members = 0, Freed(), list[str]()
        async with translated():
            async for raw, _ in self._client.hscan_iter(self._sizes, match=pattern, count=batch):
                member = raw.decode() if isinstance(raw, bytes) else raw
                if self._keys.owns(self._prefix + member):
                    members.append(member)
                if len(members) >= batch:
                    live, freed = await self._dropped(members, live, freed)
                    members = []
            if members:
                live, freed = await self._dropped(members, live, freed)
        return live, freed

    async def _dropped(self, members: list[str], live: int, freed: Freed) -> tuple[int, Freed]:
        removed, size, items = await self._scripts.drop(
            keys=[self._sizes, self._expiry], args=[self._prefix, *members]
        )
        return live + int(removed), freed + Freed(int(size), int(items))
