"""State on the embedded default: one SQLite file (WAL) shared by every tenant environment.

Rows are ``(key, value, expires_at)`` with keys from :class:`StateKeys`; ``expires_at`` is wall
time (seconds since the epoch) so several processes sharing the file agree on it. Every operation
is one autocommitted statement, so concurrent coroutines never share a transaction on the shared
connection.

Each row is its own quota ledger (``runtime.state.accounting``): a value counts at the UTF-8
length of its JSON, read back with ``length(CAST(value AS BLOB))``. Expired rows are invisible to
every read and stay counted until a write of their tenant environment purges them, at most once
per ``sweep_every`` seconds per environment (and whenever the quota refuses a write); a delete
or a clear returns the sizes it removed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from tenantry.backends.sqlite.opening import open_wal
from tenantry.core import files
from tenantry.core.errors import Unavailable
from tenantry.core.ids import EnvId, SessionId, TeamId, TenantId
from tenantry.runtime.quota import UNLIMITED, StorageQuota
from tenantry.runtime.state import accounting, values
from tenantry.runtime.state.accounting import Counted, Freed
from tenantry.runtime.state.errors import StateNotFound
from tenantry.runtime.state.keys import StateKeys
from tenantry.runtime.state.values import DEFAULT_MAX_VALUE_BYTES, JsonInput, JsonValue

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS state_expires_at ON state (expires_at)"
    " WHERE expires_at IS NOT NULL",
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_GET = f"SELECT value FROM state WHERE key = ? AND {_LIVE}"  # noqa: S608 - constant text
_EXPIRY = f"SELECT expires_at FROM state WHERE key = ? AND {_LIVE}"  # noqa: S608
# length(CAST(value AS BLOB)): the bytes of the UTF-8 JSON, the size a value is counted at.
_COUNTED = "SELECT length(CAST(value AS BLOB)) FROM state WHERE key = ?"
_INSERT = (
    "INSERT INTO state (key, value, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO NOTHING RETURNING 1"
)
_REPLACE = (
    "UPDATE state SET value = ?, expires_at = ?"
    " WHERE key = ? AND length(CAST(value AS BLOB)) = ? RETURNING 1"
)
_DELETE = "DELETE FROM state WHERE key = ? RETURNING expires_at, length(CAST(value AS BLOB))"
# A range, not LIKE: ids cannot hold wildcards, but a range cannot be widened by any text.
_DELETE_RANGE = (
    "DELETE FROM state WHERE key >= ? AND key < ? RETURNING expires_at, length(CAST(value AS BLOB))"
)
_KEYS = f"SELECT key FROM state WHERE key >= ? AND key < ? AND {_LIVE} ORDER BY key"  # noqa: S608
_PURGE = (
    "DELETE FROM state WHERE key >= ? AND key < ? AND expires_at <= ?"
    " RETURNING length(CAST(value AS BLOB))"
)
_PURGES_KEPT = 10_000  # environments whose next purge time is remembered


class SqliteStateUnavailable(Unavailable):
    code = "sqlite.unavailable"


class SqliteState:
    """The process-wide owner of the state file; :meth:`bind` hands out confined stores."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        sweep_every: float = 60.0,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = path
        self.clock = clock
        self._sweep_every = sweep_every
        self._busy_timeout = busy_timeout
        self._next_purge: dict[str, float] = {}
        self._connection: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()

    def bind(
        self,
        tenant_id: str,
        env_id: str,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> SqliteStateStore:
        return SqliteStateStore(
            self, tenant_id, env_id, max_value_bytes=max_value_bytes, quota=quota
        )

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    def purge_due(self, prefix: str) -> bool:
        """Whether the environment under ``prefix`` is due a purge of its expired rows (then
        the next one is ``sweep_every`` seconds away)."""
        now = self.clock()
        if now < self._next_purge.get(prefix, 0.0):
            return False
        if len(self._next_purge) >= _PURGES_KEPT:
            self._next_purge.clear()
        self._next_purge[prefix] = now + self._sweep_every
        return True

    async def run(self, statement: str, parameters: Iterable[Any]) -> list[sqlite3.Row]:
        """One autocommitted statement and its rows, with driver errors translated."""
        connection = self._connection or await self._open()
        try:
            return list(await connection.execute_fetchall(statement, parameters))
        except sqlite3.OperationalError as error:
            raise SqliteStateUnavailable(f"the state file {self.path} failed: {error}") from error

    async def _open(self) -> aiosqlite.Connection:
        async with self._opening:
            if self._connection is None:
                self._connection = await self._connect()
            return self._connection

    async def _connect(self) -> aiosqlite.Connection:
        # The file holds every tenant's working memory in the clear: owner-only, like keys.
        files.private_file(self.path)
        try:
            return await open_wal(
                self.path,
                busy_timeout=self._busy_timeout,
                setup=("PRAGMA synchronous=NORMAL", *_SCHEMA),
            )
        except sqlite3.Error as error:
            raise SqliteStateUnavailable(
                f"cannot open the state file {self.path}: {error}"
            ) from error


class SqliteStateStore:
    """A :class:`~tenantry.runtime.state.ports.StateStore` of one tenant environment."""

    def __init__(
        self,
        database: SqliteState,
        tenant_id: str,
        env_id: str,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> None:
        self._keys = StateKeys.of(tenant_id, env_id)
        self._db = database
        self.max_value_bytes = values.check_limit(max_value_bytes)
        self._quota = quota
        self._ledger = _RowLedger(database, self._keys.env_prefix())

    @property
    def tenant_id(self) -> TenantId:
        return self._keys.tenant_id

    @property
    def env_id(self) -> EnvId:
        return self._keys.env_id

    async def get(self, team: str | None, session: str) -> JsonValue | None:
        rows = await self._db.run(_GET, (self._keys.key(team, session), self._db.clock()))
        return values.decode(rows[0][0]) if rows else None

    async def set(
        self, team: str | None, session: str, value: JsonInput, *, ttl: float | None = None
    ) -> None:
        key = self._keys.key(team, session)
        data = values.encode(value, limit=self.max_value_bytes)
        seconds = values.check_ttl(ttl)
        await accounting.write(self._quota, self._ledger, key, data, seconds)

    async def delete(self, team: str | None, session: str) -> bool:
        rows = await self._db.run(_DELETE, (self._keys.key(team, session),))
        await accounting.give_back(self._quota, _freed(rows))
        return self._live(rows) > 0

    async def ttl(self, team: str | None, session: str) -> float | None:
        key = self._keys.key(team, session)
        now = self._db.clock()
        rows = await self._db.run(_EXPIRY, (key, now))
        if not rows:
            raise StateNotFound(f"no state for session {session!r} of team {team or 'default'}")
        expires_at: float | None = rows[0][0]
        return None if expires_at is None else expires_at - now

    async def entries(self) -> list[tuple[TeamId, SessionId]]:
        prefix = self._keys.env_prefix()
        rows = await self._db.run(_KEYS, (prefix, _end(prefix), self._db.clock()))
        return [self._keys.entry(key) for (key,) in rows if self._keys.owns(key)]

    async def clear_team(self, team: str | None) -> int:
        return await self._clear(self._keys.team_prefix(team))

    async def clear(self) -> int:
        return await self._clear(self._keys.env_prefix())

    async def _clear(self, prefix: str) -> int:
        rows = await self._db.run(_DELETE_RANGE, (prefix, _end(prefix)))
        await accounting.give_back(self._quota, _freed(rows))
        return self._live(rows)

    def _live(self, rows: list[sqlite3.Row]) -> int:
        now = self._db.clock()
        return sum(1 for (expires_at, _) in rows if expires_at is None or expires_at > now)


class _RowLedger:
    """The :class:`~tenantry.runtime.state.accounting.Ledger` of one tenant environment's
    rows: the counted size is the stored value's."""

    def __init__(self, database: SqliteState, prefix: str) -> None:
        self._db, self._prefix = database, prefix

    async def write_or_count(
        self, key: str, data: bytes, ttl: float | None, *, thorough: bool, unlimited: bool
    ) -> Counted:
        """Counts only: a write is two statements on a local file either way, so the value is
        always left to :meth:`write_if`."""
        due = thorough or self._db.purge_due(self._prefix)
        purged = await self._purge() if due else Freed()
        rows = await self._db.run(_COUNTED, (key,))
        return Counted(int(rows[0][0]) if rows else None, purged)

    async def write_if(
        self, key: str, data: bytes, ttl: float | None, *, counted: int | None
    ) -> bool:
        expires_at = None if ttl is None else self._db.clock() + ttl
        text = data.decode()
        if counted is None:
            rows = await self._db.run(_INSERT, (key, text, expires_at))
        else:
            rows = await self._db.run(_REPLACE, (text, expires_at, key, counted))
        return bool(rows)

    async def _purge(self) -> Freed:
        now = self._db.clock()
        rows = await self._db.run(_PURGE, (self._prefix, _end(self._prefix), now))
        return Freed(sum(int(size) for (size,) in rows), len(rows))


def _end(prefix: str) -> str:
    """The first key after every key under ``prefix``: every prefix ends with ":", and ";" is
    the next code point, so ``[prefix, _end(prefix))`` is exactly it."""
    return prefix[:-1] + ";"


def _freed(rows: list[sqlite3.Row]) -> Freed:
    return Freed(sum(int(size) for (_, size) in rows), len(rows))
