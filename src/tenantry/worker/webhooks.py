"""The webhook dispatcher: fans new outbox events out to endpoints, then sends due deliveries
concurrently, each on its own task with a timeout, through the egress guard.

No delivery waits for another: a failure is rescheduled alone (no head-of-line blocking) and
at most ``webhook_endpoint_concurrency`` requests per endpoint are in flight, so one slow or
hanging endpoint holds only its own slots, never another endpoint's or tenant's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Final

import httpx

from tenantry.bootstrap import Services, webhook_sealer
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.runtime.flows.egress import EgressGuard
from tenantry.tenancy.registry import database
from tenantry.tenancy.webhooks import signing
from tenantry.tenancy.webhooks.attempts import Result
from tenantry.tenancy.webhooks.fanout import FanOut
from tenantry.tenancy.webhooks.sending import Claimed, Sending

log = get_logger(__name__)
POLL: Final = 0.5  # seconds between looks for new events and due deliveries when idle
PRUNE_EVERY: Final = 3600.0  # seconds between prunes of the delivery log
_LEASE_SLACK: Final = 30.0  # seconds a claim outlasts the request's timeout


class WebhookDispatcher:
    def __init__(
        self,
        fanout: FanOut,
        sending: Sending,
        guard: EgressGuard,
        *,
        timeout: float,
        concurrency: int,
        per_endpoint: int,
        poll: float = POLL,
        http: httpx.AsyncClient | None = None,
        log_retention: timedelta = timedelta(days=30),
    ) -> None:
        self._fanout, self._sending, self._guard = fanout, sending, guard
        self._log_retention, self._pruned_at = log_retention, float("-inf")
        self._timeout, self._concurrency, self._per_endpoint = timeout, concurrency, per_endpoint
        self._poll = poll
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self._inflight: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[tuple[Claimed, Result]] = []  # sent, not yet recorded
        self._wake = asyncio.Event()

    @classmethod
    def of(cls, services: Services, **options: object) -> WebhookDispatcher:
        settings, sessions = services.settings, database.session_factory(services.engine)
        timeout = settings.webhook_timeout_seconds
        sending = Sending(
            sessions,
            webhook_sealer(settings),
            max_attempts=settings.webhook_max_attempts,
            lease=timedelta(seconds=timeout + _LEASE_SLACK),
        )
        guard = EgressGuard(allow=settings.webhook_egress_allow)
        configured: dict[str, object] = {
            "timeout": timeout,
            "concurrency": settings.webhook_concurrency,
            "per_endpoint": settings.webhook_endpoint_concurrency,
            "log_retention": timedelta(days=settings.webhook_log_retention_days),
        }
        return cls(FanOut(sessions), sending, guard, **(configured | options))  # type: ignore[arg-type]

    async def run(self, *, stop: asyncio.Event) -> None:
        """Fan out and send until ``stop``; the requests in flight then finish or time out."""
        try:
            while not stop.is_set():
                if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                    await self.prune()
                busy = await self._round()
                if not busy:
                    await self._idle(stop)
        finally:
            await self.aclose()

    async def prune(self) -> int:
        """Drop finished deliveries past the log's retention; how many (0 when it failed)."""
        self._pruned_at = time.monotonic()
        try:
            return await self._sending.prune(older_than=self._log_retention)
        except TenantryError as error:  # tried again at the next prune
            log.warning("webhooks.prune_failed", code=error.code, error=error.message)
            return 0

    async def fan_out(self) -> int:
        """Turn new outbox events into deliveries; how many were created."""
        return await self._fanout.run()

    async def settled(self) -> None:
        """Wait for the deliveries in flight (each ends by its timeout at the latest) and
        record their outcomes."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        """Record the outcomes of the attempts made since the last flush, in one transaction
        (a delivery whose outcome is lost is due again once its claim's lease passes)."""
        batch, self._outcomes = self._outcomes, []
        if not batch:
            return
        verdicts = await self._sending.record(batch)
        for (delivery, _), verdict in zip(batch, verdicts, strict=True):
            log.debug("webhooks.attempted", delivery=delivery.id, verdict=verdict.value)

    async def aclose(self) -> None:
        await self.settled()
        if self._own_http:
            await self._http.aclose()

    async def _round(self) -> bool:
        """One fan-out and one claim; True when there may be more to do at once."""
        self._wake.clear()  # a send that ends from here on wakes the idle wait at once
        try:
            await self.flush()
            fanned = await self.fan_out()
            started = await self.start_due()
        except TenantryError as error:  # the loop outlives a failed round
            log.warning("webhooks.round_failed", code=error.code, error=error.message)
            return False
        except Exception as error:  # a bug must not stop every delivery of the platform
            log.exception("webhooks.round_crashed", error=repr(error)[:200])
            return False
        return fanned > 0 or started > 0

    async def _idle(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waits, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()

    async def start_due(self) -> int:
        """Claim what the free slots allow and start each delivery on its own task."""
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return 0
        room = {e: self._per_endpoint - n for e, n in self._inflight.items()}
        claimed = await self._sending.claim(limit=free, room=room, per_endpoint=self._per_endpoint)
        for delivery in claimed:
            self._inflight[delivery.endpoint_id] = self._inflight.get(delivery.endpoint_id, 0) + 1
            task = asyncio.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a slot is free

    async def _deliver(self, delivery: Claimed) -> None:
        try:
            result = await self.attempt(delivery)
            self._outcomes.append((delivery, result))  # the list of now, not of the start
        except Exception as error:  # the claim's lease makes it due again
            log.warning("webhooks.attempt_failed", delivery=delivery.id, error=repr(error)[:200])
        finally:
            left = self._inflight.get(delivery.endpoint_id, 1) - 1
            if left > 0:
                self._inflight[delivery.endpoint_id] = left
            else:
                self._inflight.pop(delivery.endpoint_id, None)

    async def attempt(self, delivery: Claimed) -> Result:
        """Send the delivery once, signed now: its outcome, never an exception of the send."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                status = await self._send(delivery)
        except TimeoutError:
            return _result(None, started, f"no answer within {self._timeout:g} s")
        except TenantryError as error:
            return _result(None, started, f"{error.code}: {error.message}")
        except httpx.HTTPError as error:
            return _result(None, started, f"{type(error).__name__}: {error}")
        return _result(status, started)

    async def _send(self, delivery: Claimed) -> int:
        pinned = await self._guard.pin(delivery.url)
        headers = signing.headers(
            message_id=delivery.event_id,
            body=delivery.body,
            signing=delivery.signing,
            sequence=delivery.tenant_seq,
            tenant=delivery.tenant_id,
            at=self._sending.now(),
        )
        request = self._http.build_request(
            "POST",
            pinned.url,
            content=delivery.body.encode(),
            headers=headers | pinned.headers,
            extensions=pinned.extensions,
            timeout=self._timeout,
        )
        response = await self._http.send(request, stream=True)  # the body is never read
        await response.aclose()
        return response.status_code


def _result(status: int | None, started: float, error: str | None = None) -> Result:
    return Result(status, int((time.monotonic() - started) * 1000), error)
