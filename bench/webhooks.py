"""The webhook dispatcher with 100 endpoints, one of them hanging (issue 13).

100 platform-wide endpoints, each a local receiver on 127.0.0.1 (loopback allowed for the
run), receive every event. Events are written to the outbox at a steady rate while the
worker's dispatcher (``WebhookDispatcher.of(services).run``, default settings but the allowed
network and a 2 s timeout) fans them out and delivers. In the hanging runs one receiver never
answers; the anchor is the same run with that receiver answering like the others. Runs
alternate, ``RUNS`` of each, each on a fresh embedded (SQLite) deployment.

Reported, medians of the runs: healthy deliveries per second, and the p99 delay (outbox write
to arrival) of the 99 healthy endpoints' deliveries. Target: hanging <= 1.5x the anchor.
``TENANTRY_BENCH_WEBHOOK_RATE`` (events/s, default 10: 1000 deliveries/s offered, past what
one embedded worker sends), ``_EVENTS`` (20) and ``_RUNS`` (5) change the load.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.harness import Result
from tenantry import bootstrap
from tenantry.bootstrap import services
from tenantry.core.clock import utc_now
from tenantry.core.settings import Settings
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.registry import database
from tenantry.tenancy.webhooks.schemas import Owner
from tenantry.worker.webhooks import WebhookDispatcher

ENDPOINTS: Final = 100
EVENTS: Final = int(os.environ.get("TENANTRY_BENCH_WEBHOOK_EVENTS", "20"))
RATE: Final = float(os.environ.get("TENANTRY_BENCH_WEBHOOK_RATE", "10"))  # events/s written
RUNS: Final = int(os.environ.get("TENANTRY_BENCH_WEBHOOK_RUNS", "5"))
TIMEOUT: Final = 2.0


@dataclass
class Run:
    emitted: dict[str, float] = field(default_factory=dict)  # event id -> when written
    arrivals: list[tuple[str, float]] = field(default_factory=list)  # healthy: (event, when)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def delays(self) -> list[float]:
        return [at - self.emitted[event] for event, at in self.arrivals]

    def rate(self) -> float:
        first = min(self.emitted.values())
        return len(self.arrivals) / (max(at for _, at in self.arrivals) - first)


def _healthy(run: Run) -> asyncio.Protocol:
    return _Receiver(run, hang=False)


class _Receiver(asyncio.Protocol):
    """HTTP/1.1 just enough for the dispatcher's POSTs: a 200 per request, or never."""

    def __init__(self, run: Run, *, hang: bool) -> None:
        self.run, self.hang, self.buffer = run, hang, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            fields = dict(_header(line) for line in head.split(b"\r\n")[1:])
            length = int(fields.get(b"content-length", b"0"))
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            if self.hang:
                continue
            self.run.arrivals.append((fields[b"webhook-id"].decode(), time.monotonic()))
            if len(self.run.arrivals) >= (ENDPOINTS - 1) * EVENTS:
                self.run.done.set()
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")


def _header(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name.strip().lower(), value.strip()


async def _one(hanging: bool) -> Run:
    run = Run()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            admin_token=None,
            webhook_egress_allow=["127.0.0.1/32"],
            webhook_timeout_seconds=TIMEOUT,
        )
        async with services(settings) as wired:
            servers = [
                await asyncio.get_running_loop().create_server(
                    lambda n=n: _Receiver(run, hang=hanging and n == 0), "127.0.0.1", 0
                )
                for n in range(ENDPOINTS)
            ]
            hooks, owner = bootstrap.webhooks(wired), Owner(None, "bench")
            for server in servers:
                port = server.sockets[0].getsockname()[1]
                await hooks.add(owner, url=f"http://127.0.0.1:{port}/in", filters=["*"])
            stop = asyncio.Event()
            worker = asyncio.create_task(WebhookDispatcher.of(wired).run(stop=stop))
            await _announce(wired, run)
            async with asyncio.timeout(120):
                await run.done.wait()
            stop.set()
            for server in servers:
                server.close()
            await worker
    return run


async def _announce(wired: bootstrap.Services, run: Run) -> None:
    sessions = database.session_factory(wired.engine)
    for n in range(EVENTS):
        async with sessions() as session, session.begin():
            event = Event(EventType.TENANT_UPDATED, f"tenant-{n % 10}", data={"n": n})
            event_id = await emit(session, event, now=utc_now())
        run.emitted[event_id] = time.monotonic()
        await asyncio.sleep(1 / RATE)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def run() -> list[Result]:
    anchor: list[Run] = []
    hanging: list[Run] = []
    for _ in range(RUNS):
        anchor.append(asyncio.run(_one(hanging=False)))
        hanging.append(asyncio.run(_one(hanging=True)))
    p99s = ([_p99(r.delays()) for r in hanging], [_p99(r.delays()) for r in anchor])
    rates = ([r.rate() for r in hanging], [r.rate() for r in anchor])
    print(f"# webhooks p99 delay, s: hanging {_shown(p99s[0])}; anchor {_shown(p99s[1])}")
    print(f"# webhooks deliveries/s: hanging {_shown(rates[0])}; anchor {_shown(rates[1])}")
    return [
        Result(
            "webhooks: p99 delay of 99 healthy endpoints beside a hanging one",
            statistics.median(p99s[0]),
            statistics.median(p99s[1]),
            "the same 100 endpoints, none hanging",
        ),
        Result(
            "webhooks: healthy deliveries per second beside a hanging one",
            statistics.median(rates[0]),
            statistics.median(rates[1]),
            "the same 100 endpoints, none hanging",
            unit="/s",
        ),
    ]


def _shown(values: list[float]) -> str:
    return ", ".join(f"{v:.3g}" for v in values)
