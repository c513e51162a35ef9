"""Group commit for records appended in their own transaction (``log.append``): the records
of concurrent requests that arrive while one batch is written go together in the next (one
INSERT, one commit), and each caller returns only once its own record is committed.

One connection serves the batches of a busy period, kept for ``linger`` seconds after the
last one: under load a batch costs its INSERT and commit, not a pool checkout and its ping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from tenantry.tenancy.audit import log
from tenantry.tenancy.audit.schemas import AuditEntry
from tenantry.tenancy.registry.errors import translated

_Waiting = tuple[AuditEntry, "asyncio.Future[None]"]
LINGER = 0.05  # seconds a drained writer keeps its connection for the next batch


class GroupCommit:
    def __init__(
        self, engine: AsyncEngine, clock: Callable[[], datetime], *, linger: float = LINGER
    ) -> None:
        self._engine, self._clock, self._linger = engine, clock, linger
        self._waiting: list[_Waiting] = []
        self._arrived = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self._closed = False

    async def record(self, entry: AuditEntry) -> None:
        """Return once ``entry`` is committed; raise what its batch's append raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, done))
        self._arrived.set()
        if self._drain is None:
            self._drain = asyncio.create_task(self._drained())
        await asyncio.shield(done)  # a cancelled request leaves its record to the batch

    async def _drained(self) -> None:
        try:
            async with translated(), self._engine.connect() as connection:
                while await self._more():
                    await self._write(connection)
        except Exception as error:  # no connection, or a broken one: those waiting fail
            batch, self._waiting = self._waiting, []
            _settle(batch, error)
        finally:
            self._drain = None
            if self._waiting and not self._closed:  # arrived while the connection was released
                self._drain = asyncio.create_task(self._drained())

    async def close(self) -> None:
        """Stop lingering and release the connection (the services are closing): records
        still waiting are written first."""
        self._closed = True
        self._linger = 0.0
        self._arrived.set()
        found = self._drain
        if found is not None:
            await asyncio.wait([found])

    async def _more(self) -> bool:
        if not self._waiting:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), self._linger)
        return bool(self._waiting)

    async def _write(self, connection: AsyncConnection) -> None:
        batch, self._waiting = self._waiting, []
        try:
            async with AsyncSession(bind=connection) as session, session.begin():
                await log.append(session, [entry for entry, _ in batch], now=self._clock())
        except Exception as error:
            _settle(batch, error)
            raise
        _settle(batch, None)


def _settle(batch: list[_Waiting], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


@asynccontextmanager
async def running(engine: AsyncEngine, clock: Callable[[], datetime]) -> AsyncIterator[GroupCommit]:
    """A :class:`GroupCommit` for the services' lifetime, its connection released at the end."""
    # SQLite has no round trip to save: its writer lets the connection go after each batch
    group = GroupCommit(engine, clock, linger=LINGER if engine.dialect.name != "sqlite" else 0.0)
    try:
        yield group
    finally:
        await group.close()
