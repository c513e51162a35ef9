"""The process side of the fence: its heartbeat, and the drains of the fences it sees.

:class:`FenceWatch` beats the process's heartbeat row, reads the fences raised lately, and for
each new one drains the tenant's holds (:meth:`InFlight.drain`) and then acknowledges it. A
process whose heartbeat could not be renewed within ``stale`` seconds takes itself for dead, as
the drains do: it admits no tenant request until a beat succeeds. :meth:`admit` tries that beat
once itself (a stall of the machine or of the event loop can outlast ``stale`` while the
database is fine), and answers 503 only when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from tenantry.core.clock import utc_now
from tenantry.core.errors import TenantryError, Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.lifecycle.fence import repository
from tenantry.tenancy.lifecycle.fence.inflight import Hold, InFlight
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated

log = get_logger(__name__)
FORGET_AFTER = 10  # silent processes' rows are removed after this many stale periods


class FenceLapsed(Unavailable):
    code = "process.fence_lapsed"


@dataclass(frozen=True, slots=True)
class FenceTiming:
    """How often a process looks and beats, when it counts as dead, how long a drain waits."""

    poll: float = 0.2  # seconds between reads of the fences raised lately
    heartbeat: float = 1.0  # seconds between heartbeats
    stale: float = 10.0  # a heartbeat older than this is a dead process's
    drain: float = 20.0  # how long a suspend waits for every live process to drain

    @property
    def window(self) -> timedelta:
        """How far back a process looks for fences: a drain waits no longer than this."""
        return timedelta(seconds=self.drain + self.stale + 60)


def process_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class FenceWatch:
    def __init__(
        self,
        sessions: SessionFactory,
        inflight: InFlight | None = None,
        *,
        timing: FenceTiming | None = None,
        process_id: str | None = None,
    ) -> None:
        self._sessions = sessions
        self.inflight = inflight or InFlight()
        self.timing = timing or FenceTiming()
        self.process_id = process_id or process_name()
        self._beaten: float | None = None  # monotonic time of the last successful heartbeat
        self._seen: dict[str, int] = {}  # tenant -> the highest fence sequence taken up
        self._drains: set[asyncio.Task[None]] = set()
        self._failing = False
        self._renewing = asyncio.Lock()  # one renewal for every request that found a lapse
        self._home: asyncio.AbstractEventLoop | None = None  # the loop its sessions belong to

    @property
    def live(self) -> bool:
        """Whether this process's heartbeat is fresh (the drains count it as alive)."""
        beaten = self._beaten
        return beaten is not None and time.monotonic() - beaten < self.timing.stale

    async def admit(self, tenant_id: str) -> Hold:
        """A hold for a tenant request (take it before reading the tenant's state). When this
        process's heartbeat lapsed, the drains no longer wait for it: it beats and looks for
        fences once (within a heartbeat period, on the loop it watches from), and answers 503
        if that fails too."""
        if not self.live and self._home in (None, asyncio.get_running_loop()):
            async with self._renewing:
                if not self.live:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.timing.heartbeat):
                            await self._tick(beat=True)
        if not self.live:
            raise FenceLapsed(
                "this server process lost its heartbeat to the control database; retry",
                details={"process_id": self.process_id},
            )
        return self.inflight.hold(tenant_id)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FenceWatch]:
        """Beat and watch for the block; the process's row is removed at the end."""
        self._home = asyncio.get_running_loop()
        await self._tick(beat=True)
        task = asyncio.create_task(self._loop())
        try:
            yield self
        finally:
            task.cancel()
            drains = list(self._drains)
            for drain in drains:
                drain.cancel()
            await asyncio.gather(task, *drains, return_exceptions=True)
            with contextlib.suppress(TenantryError):
                await self._forget(self.process_id)

    async def _loop(self) -> None:
        next_beat = time.monotonic() + self.timing.heartbeat
        while True:
            await asyncio.sleep(self.timing.poll)
            beat = time.monotonic() >= next_beat
            if beat:
                next_beat = time.monotonic() + self.timing.heartbeat
            await self._tick(beat=beat)

    async def _tick(self, *, beat: bool) -> None:
        try:
            if beat:
                await self.beat()
            await self.look()
        except Exception as error:  # the next tick retries; the lapse check refuses meanwhile
            if not self._failing:  # said once, not on every tick
                message = error.message if isinstance(error, TenantryError) else repr(error)
                log.warning("fence.tick_failed", process_id=self.process_id, error=message)
            self._failing = True
        else:
            if self._failing:
                log.info("fence.tick_recovered", process_id=self.process_id)
            self._failing = False

    async def beat(self) -> None:
        """Renew the heartbeat, and forget processes silent for long."""
        started, now = time.monotonic(), utc_now()
        dead = now - timedelta(seconds=self.timing.stale * FORGET_AFTER)
        async with translated(), self._sessions() as session, session.begin():
            await repository.beat(session, self.process_id, now)
            await repository.forget(session, process_id=None, dead_before=dead)
        self._beaten = started

    async def look(self) -> None:
        """Take up every fence raised lately that this process has not drained yet."""
        since = utc_now() - self.timing.window
        async with translated(), self._sessions() as session:
            raised = await repository.raised_since(session, since)
        for tenant_id, seq in raised:
            if seq > self._seen.get(tenant_id, 0):
                self._seen[tenant_id] = seq
                drain = asyncio.create_task(self._drain(tenant_id, seq))
                self._drains.add(drain)
                drain.add_done_callback(self._drains.discard)

    async def _drain(self, tenant_id: str, seq: int) -> None:
        await self.inflight.drain(tenant_id)
        while True:
            try:
                async with translated(), self._sessions() as session, session.begin():
                    await repository.ack(session, self.process_id, tenant_id, seq, utc_now())
                log.info("fence.drained", process_id=self.process_id, tenant_id=tenant_id, seq=seq)
                return
            except TenantryError as error:
                log.warning("fence.ack_failed", tenant_id=tenant_id, error=error.message)
                await asyncio.sleep(self.timing.poll)

    async def _forget(self, process_id: str) -> None:
        dead = utc_now() - timedelta(seconds=self.timing.stale * FORGET_AFTER)
        async with translated(), self._sessions() as session, session.begin():
            await repository.forget(session, process_id=process_id, dead_before=dead)
