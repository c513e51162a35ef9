"""The load of ``bench/messaging.py``, the same for Tenantry and for the raw anchor.

A *side* takes a user's message onto its ingress (``send``: durable, acknowledged) and reports
each reply it reads from egress (``on_reply(key)``). Two shapes of load:

* **closed loop** (throughput): every tenant has ``users`` users, each sending a message and
  waiting for its reply before the next; the concurrency is ``tenants x users`` on both sides;
* **open loop** (fairness): each tenant sends at its own rate whether or not replies came, and
  latency is taken from the scheduled send, so a slow side cannot hide behind a slow sender.

Worker processes (Tenantry's runners, or the anchor's loop) are started by :func:`workers`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[1]
TEXT = "hello, I need help with my order"


class Refused(Exception):
    """The side's door refused the message (over the API: a ``429`` at the tenant's rate)."""


class Side(Protocol):
    async def start(self, on_reply: Callable[[str], None]) -> None: ...

    async def send(self, tenant: str, session: str | None, key: str, text: str) -> str:
        """Publish a user's message (acknowledged); the session it went to."""
        ...

    async def stop(self) -> None: ...


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0

    def count(self, tenants: Sequence[str] | None = None) -> int:
        return sum(len(v) for t, v in self.latencies.items() if tenants is None or t in tenants)

    def throughput(self) -> float:
        return self.count() / self.seconds

    def all(self, tenants: Sequence[str] | None = None) -> list[float]:
        return [x for t, v in self.latencies.items() if tenants is None or t in tenants for x in v]


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


class Waiting:
    """Replies awaited, by the key of the message they answer."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[float]] = {}

    def expect(self, key: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._futures[key] = future
        return future

    def replied(self, key: str) -> None:
        future = self._futures.pop(key, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    def forget(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()


async def closed_loop(
    side: Side, waiting: Waiting, tenants: Sequence[str], *, users: int, seconds: float
) -> Tally:
    """Every user sends, waits for the reply, sends again, until ``seconds`` have passed."""
    tally, deadline = Tally(), time.perf_counter() + seconds

    async def user(tenant: str, number: int) -> None:
        session: str | None = None
        while time.perf_counter() < deadline:
            key = uuid.uuid4().hex
            reply = waiting.expect(key)
            sent = time.perf_counter()
            session = await side.send(tenant, session, key, f"{TEXT} ({number})")
            tally.latencies[tenant].append(await reply - sent)

    start = time.perf_counter()
    await asyncio.gather(*(user(t, n) for t in tenants for n in range(users)))
    tally.seconds = time.perf_counter() - start
    return tally


async def open_loop(
    side: Side,
    waiting: Waiting,
    rates: Mapping[str, float],
    *,
    seconds: float,
    sessions: int = 4,
    patience: float = 30.0,
) -> Tally:
    """Each tenant sends ``rates[tenant]`` messages a second over ``sessions`` sessions;
    latency from the scheduled send to the reply (replies still missing after ``patience``
    count as that long)."""
    tally = Tally()

    async def one(tenant: str, session: str | None, due: float) -> str | None:
        key = uuid.uuid4().hex
        reply = waiting.expect(key)
        try:
            made = await side.send(tenant, session, key, TEXT)
        except Refused:  # never sent: no reply to wait for, no latency
            reply.cancel()
            tally.refused[tenant] += 1
            return session
        try:
            done = await asyncio.wait_for(reply, patience)
        except TimeoutError:
            done = due + patience
        tally.latencies[tenant].append(done - due)
        return made

    async def tenant_load(tenant: str, rate: float, offset: float) -> None:
        made = [await side.send(tenant, None, uuid.uuid4().hex, TEXT) for _ in range(sessions)]
        start, sent, pending = time.perf_counter() + offset, 0, []
        while (due := start + sent / rate) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            pending.append(asyncio.create_task(one(tenant, made[sent % sessions], due)))
            sent += 1
        await asyncio.gather(*pending)

    first = time.perf_counter()
    count = len(rates)
    await asyncio.gather(
        *(tenant_load(t, r, n / (count * r)) for n, (t, r) in enumerate(rates.items()))
    )
    tally.seconds = time.perf_counter() - first
    return tally


@contextmanager
def workers(
    command: Sequence[str], env: Mapping[str, str], count: int, *, ready: str | None = None
) -> Iterator[None]:
    """``count`` worker processes running ``command``, terminated at the end of the block;
    with ``ready``, each is awaited until it prints that line."""
    started = [
        subprocess.Popen(
            [sys.executable, *command],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE if ready else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for process in started if ready else []:
            assert process.stdout is not None
            line = process.stdout.readline()
            if ready not in line:
                raise RuntimeError(f"a worker did not start: {line!r} ({command})")
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
