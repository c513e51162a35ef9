"""What one process has in flight, per tenant: requests (holds) and long-lived connections.

ASGI-independent: the API takes a :class:`Hold` before it reads the tenant's state (so any
request that read ``active`` is counted), and gives it back when the request has ended; a later
long-poll or event stream enters :meth:`InFlight.long_lived` and watches the :class:`Closing` it
gets. :meth:`InFlight.drain` waits for the holds taken before it began, and closes the tenant's
long-lived connections; holds taken after it are refused by the state they read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TypeVar

from tenantry.core.errors import Locked

_T = TypeVar("_T")


class ConnectionClosed(Locked):
    """A long-lived connection's tenant was fenced (suspended): end the connection (423 to a
    long-poll still waiting)."""

    code = "connection.closed_by_fence"


class Hold:
    """One request in flight for a tenant; :meth:`release` it once the request has ended."""

    __slots__ = ("_inflight", "tenant_id")

    def __init__(self, inflight: InFlight, tenant_id: str) -> None:
        self._inflight, self.tenant_id = inflight, tenant_id

    def release(self) -> None:
        """Give the hold back (idempotent)."""
        self._inflight._release(self)


class Closing:
    """A long-lived connection's signal: set when its tenant is fenced."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    async def race(self, awaitable: Awaitable[_T]) -> _T:
        """``awaitable``'s result, or :class:`ConnectionClosed` if the fence closes first."""
        if self.closed:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: nothing to cancel
            raise ConnectionClosed("the connection's tenant was suspended")
        work = asyncio.ensure_future(awaitable)
        closing = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({work, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise ConnectionClosed("the connection's tenant was suspended")

    def check(self) -> None:
        """Raise :class:`ConnectionClosed` if the fence closed the connection."""
        if self.closed:
            raise ConnectionClosed("the connection's tenant was suspended")

    def close(self) -> None:
        self._event.set()


class InFlight:
    """The process's in-flight requests and long-lived connections, by tenant."""

    def __init__(self) -> None:
        self._held: dict[str, set[Hold]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._connections: dict[str, set[Closing]] = {}
        self._draining: dict[str, int] = {}

    def hold(self, tenant_id: str) -> Hold:
        """Count a request in flight for ``tenant_id`` (take it before reading its state)."""
        hold = Hold(self, tenant_id)
        held = self._held.get(tenant_id)
        if held is None:
            self._held[tenant_id] = {hold}
        else:
            held.add(hold)
        return hold

    @contextlib.contextmanager
    def held(self, tenant_id: str) -> Iterator[Hold]:
        """A hold for the block: work done for a tenant outside an HTTP request."""
        hold = self.hold(tenant_id)
        try:
            yield hold
        finally:
            hold.release()

    @contextlib.asynccontextmanager
    async def long_lived(self, tenant_id: str) -> AsyncIterator[Closing]:
        """Hold the tenant for a long-lived connection (a long-poll, an event stream); the
        :class:`Closing` it yields is set when the tenant is fenced, and the connection must
        then end (``closing.race(next_event)`` raises :class:`ConnectionClosed`)."""
        closing = Closing()
        with self.held(tenant_id):
            connections = self._connections.setdefault(tenant_id, set())
            connections.add(closing)
            if self._draining.get(tenant_id):  # fenced while this request was on its way
                closing.close()
            try:
                yield closing
            finally:
                connections.discard(closing)
                if not connections:
                    self._connections.pop(tenant_id, None)

    def count(self, tenant_id: str) -> int:
        return len(self._held.get(tenant_id, ()))

    async def drain(self, tenant_id: str) -> None:
        """Close the tenant's long-lived connections and wait until every hold taken before
        this call is released (later ones may come and go: they read the fenced state)."""
        self._draining[tenant_id] = self._draining.get(tenant_id, 0) + 1
        try:
            for closing in list(self._connections.get(tenant_id, ())):
                closing.close()
            pending = set(self._held.get(tenant_id, ()))
            while pending:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.setdefault(tenant_id, []).append(waiter)
                await waiter
                pending &= self._held.get(tenant_id, set())
        finally:
            self._draining[tenant_id] -= 1
            if not self._draining[tenant_id]:
                del self._draining[tenant_id]

    def _release(self, hold: Hold) -> None:
        held = self._held.get(hold.tenant_id)
        if held is None or hold not in held:
            return
        held.discard(hold)
        if not held:
            del self._held[hold.tenant_id]
        for waiter in self._waiters.pop(hold.tenant_id, ()):
            if not waiter.done():
                waiter.set_result(None)
