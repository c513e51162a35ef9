"""Opening an embedded SQLite file in WAL mode, shared by several processes.

Two connections setting up the same new file at once can see ``database is locked`` at
once, busy timeout or not: the switch to WAL takes a lock SQLite does not wait for. The
set-up is therefore tried again on a fresh connection until the busy timeout runs out. A
connection whose set-up fails is closed: aiosqlite runs each connection on a non-daemon
thread, and one left open keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

import aiosqlite

_PAUSE = 0.02


async def open_wal(
    path: Path, *, busy_timeout: float, setup: Iterable[str] = ()
) -> aiosqlite.Connection:
    """An autocommit connection to ``path`` in WAL mode, after ``setup`` ran on it.

    Raises :class:`sqlite3.Error` when the file cannot be opened or set up in time.
    """
    statements = ("PRAGMA journal_mode=WAL", *setup)
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return await _open_once(path, busy_timeout, statements)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(_PAUSE)


async def _open_once(
    path: Path, busy_timeout: float, statements: tuple[str, ...]
) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
    try:
        for statement in statements:
            await connection.execute_fetchall(statement)
    except BaseException:
        await connection.close()
        raise
    return connection
