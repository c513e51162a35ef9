"""Group commit for records appended in their own transaction: the records of concurrent
requests waiting while one append runs go together in the next one (one INSERT, one commit),
and each caller returns only once its own record is committed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from tenantry.tenancy.audit.schemas import AuditEntry

Write = Callable[[Sequence[AuditEntry]], Awaitable[None]]
_Waiting = tuple[AuditEntry, "asyncio.Future[None]"]


class GroupCommit:
    """Appends through ``write`` (``AuditLog.record``), one batch at a time."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._waiting: list[_Waiting] = []
        self._drain: asyncio.Task[None] | None = None

    async def record(self, entry: AuditEntry) -> None:
        """Return once ``entry`` is committed; raise what its batch's append raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, done))
        if self._drain is None:
            self._drain = asyncio.create_task(self._drained())
        await asyncio.shield(done)  # a cancelled request leaves its record to the batch

    async def _drained(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._write([entry for entry, _ in batch])
                except Exception as error:  # every caller of the batch answers it
                    _settle(batch, error)
                else:
                    _settle(batch, None)
        finally:
            self._drain = None


def _settle(batch: list[_Waiting], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
