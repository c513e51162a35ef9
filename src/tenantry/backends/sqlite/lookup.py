"""The tenant status read on an SQLite control database, in the event loop itself.

A read on a WAL database never waits for writers, and the indexed point read takes a few
microseconds, while handing it to a driver thread costs a hundred. So the read runs inline on a
connection of its own (``query_only``, no busy wait). Only when SQLite reports the database busy
(a checkpoint or a recovery holding it) is the read repeated in a thread that may wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable
from tenantry.tenancy.scopes import (
    ROSTER_QUERY,
    STATUS_QUERY,
    Roster,
    TenantStatus,
    language_of,
    roster_of,
)

_QUERY: Final = STATUS_QUERY.format(
    placement="placement", language="json_extract(settings, '$.language')", param="?"
)
_ROSTER: Final = ROSTER_QUERY.format(param="?")
_T = TypeVar("_T")
_PATIENCE: Final = 5.0  # seconds a busy database is waited for, off the event loop


class SqliteTenantLookup:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    async def status(self, tenant_id: str) -> TenantStatus | None:
        try:
            return _read(self._connected(), tenant_id)
        except sqlite3.Error:  # busy, or worse: the patient read says which
            return await asyncio.to_thread(self._read_patiently, _read, tenant_id)

    async def roster(self, tenant_id: str) -> Roster:
        try:
            return _read_roster(self._connected(), tenant_id)
        except sqlite3.Error:
            return await asyncio.to_thread(self._read_patiently, _read_roster, tenant_id)

    def _connected(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = _connect(self._path, timeout=0)
        return self._connection

    def _read_patiently(self, read: Callable[[sqlite3.Connection, str], _T], tenant_id: str) -> _T:
        try:
            connection = _connect(self._path, timeout=_PATIENCE)
            try:
                return read(connection, tenant_id)
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise ControlDatabaseUnavailable(
                f"the control database is unavailable: {error}"
            ) from error

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _connect(path: Path, *, timeout: float) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    connection.execute("PRAGMA query_only=ON")
    return connection


def _read(connection: sqlite3.Connection, tenant_id: str) -> TenantStatus | None:
    row = connection.execute(_QUERY, (tenant_id,)).fetchone()
    if row is None:
        return None
    state, placements, generation, language = row
    return TenantStatus(state, placements, int(generation), language_of(language))


def _read_roster(connection: sqlite3.Connection, tenant_id: str) -> Roster:
    return roster_of(connection.execute(_ROSTER, (tenant_id,)).fetchall())
