"""Suspend and resume under load, on both control databases: clients hammer two API apps (two
processes' services on one control database) with state writes (to SQLite files, or to Redis
beside PostgreSQL) while the tenant is suspended and resumed. No write succeeds that started
after the suspend was requested, every successful write had finished in its server before the
suspend job reported done, and every write started after the resume job reported done is
served. The job of each runs in the other process."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantry.api.app import create_app
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

REDIS_URL = os.environ.get("TENANTRY_TEST_FENCE_REDIS", "redis://127.0.0.1:6379/11")
SENDERS = 3  # per app
UNLIMITED = LimitsSpec(rate=1_000_000, burst=1_000_000, max_in_flight=1_000)
OPEN_DOORS = {
    f"door_{kind}_{field}": 1_000_000
    for kind in ("credential", "address", "refusal")
    for field in ("rate", "burst")
}
FAST = {"fence_poll_seconds": 0.05, "fence_heartbeat_seconds": 0.2, "fence_drain_seconds": 10.0}


@dataclass(frozen=True, slots=True)
class Sent:
    started: float
    answered: float
    status: int
    served_until: float  # when the server's app returned (after the request's hold was freed)


@dataclass
class Ended:
    """The server side: when each request's app call returned, by request id."""

    at: dict[str, float] = field(default_factory=dict)


class Recording:
    """Outermost ASGI wrapper noting when the app is done with each request."""

    def __init__(self, app: ASGIApp, ended: Ended) -> None:
        self.app, self.ended = app, ended

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            sent = dict(scope.get("headers", ())).get(b"x-load-id")
            if sent is not None:
                self.ended.at[sent.decode()] = time.monotonic()


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[Services, Services]]:
    tuned = settings.model_copy(update={**FAST, **OPEN_DOORS, "request_log": False})
    if str(settings.database_url).startswith("postgresql"):  # the real services: state on Redis
        tuned = tuned.model_copy(update={"redis_url": REDIS_URL})
    async with services(tuned) as first, services(tuned) as second:
        spec = TenantSpec(name="acme", environments=[Environment(id="prod")], limits=UNLIMITED)
        await first.registry.apply(Bundle(tenants={"acme": spec}))
        [outcome] = await first.controller.reconcile_many(["acme"], concurrency=1)
        assert outcome.result == "ready", outcome.message
        yield first, second


class Load:
    def __init__(self, clients: list[httpx.AsyncClient], token: str, ended: Ended) -> None:
        self._clients, self._ended = clients, ended
        self._headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": "acme"}
        self.sent: list[tuple[str, float, float, int]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for index, client in enumerate(self._clients * SENDERS):
            self._tasks.append(asyncio.create_task(self._send(index, client)))

    async def _send(self, sender: int, client: httpx.AsyncClient) -> None:
        count = 0
        while not self._stop.is_set():
            count += 1
            load_id = f"{sender}-{count}"
            headers = {**self._headers, "X-Load-ID": load_id}
            started = time.monotonic()
            response = await client.put(f"/api/v1/state/s{sender}", json=count, headers=headers)
            self.sent.append((load_id, started, time.monotonic(), response.status_code))
            await asyncio.sleep(0.002)  # hammering, with room left for the jobs in this loop

    async def served(self, count: int) -> None:
        deadline = time.monotonic() + 20
        while sum(1 for *_, status in self.sent if status == 204) < count:
            assert time.monotonic() < deadline, "the load was never served"
            await asyncio.sleep(0.05)

    async def stop(self) -> list[Sent]:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return [
            Sent(started, answered, status, self._ended.at[load_id])
            for load_id, started, answered, status in self.sent
        ]


async def test_no_write_succeeds_after_the_suspend_and_all_are_served_after_resume(
    pair: tuple[Services, Services],
) -> None:
    first, second = pair
    issued = await first.access.issue_token("loader", tenant="acme", role="tenant-admin")
    ended = Ended()
    apps = [Recording(create_app(services=wired), ended) for wired in pair]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        for app in apps
    ]
    load = Load(clients, issued.token, ended)
    load.start()
    await load.served(2 * SENDERS)  # warmed up: connections open, every sender served
    job = await first.lifecycle.request(JobKind.SUSPEND, "acme", actor="test")
    requested = time.monotonic()
    done = await second.jobs.run(job.id)  # the job runs in the other process
    suspended = time.monotonic()
    assert done is not None and done.state is JobState.SUCCEEDED
    await asyncio.sleep(0.3)
    again = await second.lifecycle.request(JobKind.RESUME, "acme", actor="test")
    resuming = time.monotonic()  # the tenant is active again from a moment after this
    resumed_job = await first.jobs.run(again.id)
    resumed = time.monotonic()
    assert resumed_job is not None and resumed_job.state is JobState.SUCCEEDED
    await asyncio.sleep(0.4)
    sent = await load.stop()
    for client in clients:
        await client.aclose()

    assert {s.status for s in sent} <= {204, 423}, sorted({s.status for s in sent})
    served = [s for s in sent if s.status == 204]
    assert not [s for s in served if requested <= s.started < resuming]
    assert all(s.served_until < suspended for s in served if s.started < requested)
    after_resume = [s for s in sent if s.started > resumed]
    assert after_resume and all(s.status == 204 for s in after_resume)
    refused = [s for s in sent if requested < s.started and s.answered < resuming]
    assert refused and all(s.status == 423 for s in refused)
    assert any(s.started < requested for s in served)
