"""Opening one new SQLite file from many connections at once, as several processes do."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from tenantry.backends.sqlite.opening import open_wal

_TABLE = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)"


async def test_many_connections_set_up_one_new_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    opened = await asyncio.gather(
        *(open_wal(path, busy_timeout=5.0, setup=(_TABLE,)) for _ in range(12))
    )
    try:
        await asyncio.gather(
            *(c.execute("INSERT INTO t VALUES (?, 1)", (str(i),)) for i, c in enumerate(opened))
        )
        rows = await opened[0].execute_fetchall("SELECT count(*) FROM t")
        assert [tuple(r) for r in rows] == [(12,)]
        mode = await opened[-1].execute_fetchall("PRAGMA journal_mode")
        assert [tuple(r) for r in mode] == [("wal",)]
    finally:
        for connection in opened:
            await connection.close()


async def test_a_failed_set_up_closes_its_connection_and_its_thread(tmp_path: Path) -> None:
    before = {t for t in threading.enumerate() if not t.daemon}
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        await open_wal(tmp_path / "bad.sqlite3", busy_timeout=1.0, setup=("CREATE NONSENSE",))
    await asyncio.sleep(0.05)
    left = {t for t in threading.enumerate() if not t.daemon and t.is_alive()} - before
    assert left == set()  # an open aiosqlite thread would keep the process from exiting
