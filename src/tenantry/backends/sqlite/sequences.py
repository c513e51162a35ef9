"""Session message counters on the embedded default: one SQLite file (WAL), one row per session.

Each call is one autocommitted statement, so several processes sharing the file number a
session's messages without a gap or a repeat. Counters untouched for ``IDLE_DAYS`` are removed,
at most once an hour, so the table holds the sessions that talked lately, not every one ever.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import aiosqlite

from tenantry.backends.sqlite.opening import open_wal
from tenantry.core import files
from tenantry.core.errors import Unavailable
from tenantry.runtime.messaging.sequences import IDLE_DAYS

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS session_seq ("
    " key TEXT PRIMARY KEY, value INTEGER NOT NULL, touched REAL NOT NULL) WITHOUT ROWID"
)
_NEXT: Final = (
    "INSERT INTO session_seq (key, value, touched) VALUES (?, 1, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = value + 1, touched = excluded.touched"
    " RETURNING value"
)
_GIVE_BACK: Final = "UPDATE session_seq SET value = value - 1 WHERE key = ? AND value = ?"
_FORGET: Final = "DELETE FROM session_seq WHERE touched < ?"
_SWEEP_EVERY: Final = 3600.0


class SequencesUnavailable(Unavailable):
    code = "sequences.unavailable"


class SqliteSessionSequences:
    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, busy_timeout: float = 5.0
    ) -> None:
        self.path, self._clock, self._busy_timeout = path, clock, busy_timeout
        self._connection: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()
        self._next_sweep = 0.0

    async def next(self, key: str) -> int:
        now = self._clock()
        if now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_EVERY
            await self._run(_FORGET, (now - IDLE_DAYS * 86_400.0,))
        rows = await self._run(_NEXT, (key, now))
        return int(rows[0][0])

    async def give_back(self, key: str, seq: int) -> None:
        await self._run(_GIVE_BACK, (key, seq))

    async def _run(self, statement: str, parameters: tuple[object, ...]) -> list[sqlite3.Row]:
        connection = self._connection or await self._open()
        try:
            return list(await connection.execute_fetchall(statement, parameters))
        except sqlite3.OperationalError as error:
            raise SequencesUnavailable(f"the counter file {self.path} failed: {error}") from error

    async def _open(self) -> aiosqlite.Connection:
        async with self._opening:
            if self._connection is None:
                files.private_file(self.path)
                try:
                    self._connection = await open_wal(
                        self.path, busy_timeout=self._busy_timeout, setup=(_SCHEMA,)
                    )
                except sqlite3.Error as error:
                    raise SequencesUnavailable(
                        f"cannot open the counter file {self.path}: {error}"
                    ) from error
            return self._connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
