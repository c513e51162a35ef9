"""Refusal audit in windows: the first refusal of a key is appended at once, the rest of the
window counted and appended as one ``refusals.summary`` record when it closes (or at
shutdown, :meth:`RefusalAudit.flush`). Records are only appended, never updated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tenantry.core.clock import Clock, utc_now
from tenantry.core.logging import get_logger
from tenantry.tenancy.audit.schemas import AuditEntry

SUMMARY_ACTION: Final = "refusals.summary"
DEFAULT_WINDOW: Final = timedelta(seconds=60)
Writer = Callable[[Sequence[AuditEntry]], Awaitable[None]]
RefusalKey = tuple[str, str | None]  # (credential id or client address digest, tenant asked)

log = get_logger(__name__)


@dataclass(slots=True)
class _Window:
    first: AuditEntry
    opened: datetime
    closes: datetime
    count: int = 0  # refusals after the first
    last_correlation_id: str | None = None

    def summary(self, closed: datetime) -> AuditEntry:
        details = {
            **self.first.details,
            "first_action": self.first.action,
            "count": self.count,
            "window_start": self.opened.isoformat(),
            "window_end": closed.isoformat(),
        }
        return AuditEntry(
            self.first.actor,
            SUMMARY_ACTION,
            self.first.tenant_id,
            self.first.outcome,
            self.last_correlation_id,
            details,
        )


class RefusalAudit:
    def __init__(
        self, write: Writer, *, clock: Clock = utc_now, window: timedelta = DEFAULT_WINDOW
    ) -> None:
        self._write, self._clock, self.window = write, clock, window
        self._windows: dict[RefusalKey, _Window] = {}
        self._unwritten: list[AuditEntry] = []  # summaries whose write failed, retried

    def __len__(self) -> int:
        """Open windows."""
        return len(self._windows)

    async def refused(self, key: RefusalKey, entry: AuditEntry) -> None:
        """Record ``entry`` if it opens a window for ``key``, else count it in the window."""
        now = self._clock()
        found = self._windows.get(key)
        if found is not None and now < found.closes:
            found.count += 1
            found.last_correlation_id = entry.correlation_id or found.last_correlation_id
            return
        closed = [] if found is None or not found.count else [found.summary(found.closes)]
        self._windows[key] = _Window(entry, now, now + self.window)
        await self._write([*closed, entry])

    async def flush_due(self) -> int:
        """Append the summary of every window closed by now; the number appended."""
        now = self._clock()
        due = [key for key, found in self._windows.items() if found.closes <= now]
        return await self._close(due, lambda found: found.closes)

    async def flush(self) -> int:
        """Append the summary of every window (closing them all now): at shutdown."""
        now = self._clock()
        return await self._close(list(self._windows), lambda found: min(found.closes, now))

    async def _close(self, keys: list[RefusalKey], end: Callable[[_Window], datetime]) -> int:
        summaries = [*self._unwritten]
        for key in keys:
            found = self._windows.pop(key)
            if found.count:
                summaries.append(found.summary(end(found)))
        self._unwritten = []
        if summaries:
            try:
                await self._write(summaries)
            except Exception:
                self._unwritten = summaries
                raise
        return len(summaries)

    async def run(self, *, tick: float = 1.0) -> None:
        """Append closed windows' summaries every ``tick`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(tick)
            try:
                await self.flush_due()
            except Exception as error:  # kept and retried next tick
                log.warning("audit.summary_unwritten", error=f"{type(error).__name__}: {error}")
