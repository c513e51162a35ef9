"""Messaging: ingress -> the one-node reply flow -> egress, ten tenants, through the real NATS,
against a raw nats-py JetStream loop doing the same hops at the same concurrency, in one run.

Hops on both sides: publish with ack, consume and ack, publish with ack, consume and ack
(``bench/messaging_raw.py`` for the anchor, ``bench/messaging_ours.py`` for Tenantry, which
also checks the envelope, opens the scope, runs the flow and writes the sealed session).

* **Throughput and latency** (closed loop): ten tenants with ``USERS`` users each, every user
  waiting for its reply before sending again; the median of ``ROUNDS`` rounds; 1 and 2 worker
  processes; ours with the session store's fsync on (the default) and off.
* **Fairness** (open loop): nine quiet tenants at a steady rate, with and without a tenth
  sending ten times as much; the quiet tenants' p99 beside it against without it (the median
  ratio of ``FAIR_RUNS`` runs, each a quiet and a noisy round). The quiet rate is a share of
  the side's own measured throughput, so both sides are loaded alike.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bench import messaging_raw as raw
from bench.harness import Result
from bench.messaging_load import Side, Waiting, closed_loop, open_loop, percentile, workers
from bench.messaging_ours import OursSide, deployed

TENANTS: Final = 10
USERS: Final = int(os.environ.get("TENANTRY_BENCH_MESSAGING_USERS", "4"))  # per tenant
SECONDS: Final = float(os.environ.get("TENANTRY_BENCH_MESSAGING_SECONDS", "6"))
ROUNDS: Final = int(os.environ.get("TENANTRY_BENCH_MESSAGING_ROUNDS", "3"))
FAIR_RUNS: Final = int(os.environ.get("TENANTRY_BENCH_MESSAGING_FAIR_RUNS", "5"))
FAIR_SECONDS: Final = float(os.environ.get("TENANTRY_BENCH_MESSAGING_FAIR_SECONDS", "5"))
QUIET_SHARE: Final = 0.3  # the nine quiet tenants together offer this share of the throughput
NOISY_FACTOR: Final = 10
WORKERS: Final = (1, 2)


@dataclass(frozen=True, slots=True)
class Figures:
    throughput: float  # messages per second
    p50: float
    p99: float


@dataclass(frozen=True, slots=True)
class Fairness:
    quiet_p99: float  # the median over the runs
    noisy_p99: float  # the quiet tenants' p99 beside the noisy tenant, median
    ratio: float  # the median of the runs' ratios
    refused: float = 0.0  # the share of the noisy tenant's messages its door refused, median


async def _measure(side: Side, tenants: Sequence[str]) -> Figures:
    """Warm up, then ``ROUNDS`` closed-loop rounds; each figure the median of the rounds."""
    waiting = Waiting()
    await side.start(waiting.replied)
    try:
        await closed_loop(side, waiting, tenants, users=USERS, seconds=2.0)
        tallies = [
            await closed_loop(side, waiting, tenants, users=USERS, seconds=SECONDS)
            for _ in range(ROUNDS)
        ]
    finally:
        await side.stop()
        waiting.forget()
    return Figures(
        statistics.median(t.throughput() for t in tallies),
        statistics.median(percentile(t.all(), 50) for t in tallies),
        statistics.median(percentile(t.all(), 99) for t in tallies),
    )


async def _fairness(side: Side, tenants: Sequence[str], throughput: float) -> Fairness:
    quiet, noisy = list(tenants[:-1]), tenants[-1]
    rate = QUIET_SHARE * throughput / len(quiet)
    waiting = Waiting()
    await side.start(waiting.replied)
    calm: list[float] = []
    loud: list[float] = []
    turned: list[float] = []
    try:
        for _ in range(FAIR_RUNS):
            alone = await open_loop(side, waiting, dict.fromkeys(quiet, rate), seconds=FAIR_SECONDS)
            rates = dict.fromkeys(quiet, rate) | {noisy: NOISY_FACTOR * rate}
            beside = await open_loop(side, waiting, rates, seconds=FAIR_SECONDS)
            calm.append(percentile(alone.all(quiet), 99))
            loud.append(percentile(beside.all(quiet), 99))
            sent = beside.refused[noisy] + len(beside.latencies[noisy])
            turned.append(beside.refused[noisy] / max(sent, 1))
            await asyncio.sleep(1.0)  # a pause, so that one run's tail never reaches the next
    finally:
        await side.stop()
        waiting.forget()
    return Fairness(
        statistics.median(calm),
        statistics.median(loud),
        statistics.median(b / a for a, b in zip(calm, loud, strict=True)),
        statistics.median(turned),
    )


async def _raw(tenants: Sequence[str]) -> dict[str, Figures | Fairness]:
    token = uuid.uuid4().hex[:8]
    stream, prefix = f"benchraw_{token}", f"benchraw{token}.messaging"
    client = await raw.connect()
    try:
        await raw.provision(client.jetstream(), stream, prefix, tenants)
    finally:
        await client.close()
    found: dict[str, Figures | Fairness] = {}
    command = ["-m", "bench.messaging_raw", stream, str(USERS), *tenants]
    try:
        for count in WORKERS:
            with workers(command, {}, count, ready="ready"):
                found[f"raw{count}"] = await _measure(raw.RawSide(stream, prefix, tenants), tenants)
                if count == 1:
                    base = found["raw1"]
                    assert isinstance(base, Figures)
                    side = raw.RawSide(stream, prefix, tenants)
                    found["raw_fair"] = await _fairness(side, tenants, base.throughput)
    finally:
        await raw.remove(stream)
    return found


async def _ours(tenants: Sequence[str]) -> dict[str, Figures | Fairness]:
    found: dict[str, Figures | Fairness] = {}
    async with deployed(tenants) as here:
        command = ["-m", "tenantry.cli", "worker", "--pool", "shared"]
        for count in WORKERS:
            for fsync in (True, False):
                env = here.env | {
                    "TENANTRY_SESSION_FSYNC": str(fsync).lower(),
                    # as many in flight as the load, across the processes (and no more: each
                    # message in flight may hold control-database connections)
                    "TENANTRY_POOL_CONCURRENCY": str(TENANTS * USERS // count),
                }
                with workers(command, env, count, ready="is running"):
                    key = f"ours{count}" + ("" if fsync else "_nofsync")
                    found[key] = await _measure(OursSide(here.wired, tenants), tenants)
                    if count == 1 and fsync:
                        base = found[key]
                        assert isinstance(base, Figures)
                        for doors, name in ((True, "ours_fair"), (False, "ours_fair_around")):
                            side = OursSide(here.wired, tenants, doors=doors)
                            found[name] = await _fairness(side, tenants, base.throughput)
    return found


def run() -> list[Result]:
    token = uuid.uuid4().hex[:6]
    tenants = [f"m{token}-{n}" for n in range(TENANTS)]
    anchor = asyncio.run(_raw(tenants))
    ours = asyncio.run(_ours(tenants))
    return _results(ours, anchor)


def _results(
    ours: dict[str, Figures | Fairness], anchor: dict[str, Figures | Fairness]
) -> list[Result]:
    rows: list[Result] = []
    load = f"{TENANTS} tenants x {USERS} users"
    for count in WORKERS:
        theirs = anchor[f"raw{count}"]
        assert isinstance(theirs, Figures)
        raw_name = f"raw nats-py JetStream, {count} worker process{'es' if count > 1 else ''}"
        for suffix, label in (("", "fsync (default)"), ("_nofsync", "no fsync")):
            mine = ours.get(f"ours{count}{suffix}")
            if not isinstance(mine, Figures):
                continue
            what = f"messaging, {load}, {count} worker{'s' if count > 1 else ''}, sessions {label}"
            rows += _figure_rows(what, mine, theirs, raw_name)
    rows += _fair_rows("ours, through the tenant's rate limit", ours.get("ours_fair"))
    rows += _fair_rows("ours, around the rate limit", ours.get("ours_fair_around"))
    rows += _fair_rows("raw nats-py", anchor.get("raw_fair"))
    return rows


def _figure_rows(what: str, mine: Figures, theirs: Figures, raw_name: str) -> list[Result]:
    return [
        Result(f"{what}: throughput", mine.throughput, theirs.throughput, raw_name, unit="msg/s"),
        Result(f"{what}: p50 latency", mine.p50, theirs.p50, raw_name),
        Result(f"{what}: p99 latency", mine.p99, theirs.p99, raw_name),
    ]


def _fair_rows(who: str, fair: Figures | Fairness | None) -> list[Result]:
    if not isinstance(fair, Fairness):
        return []
    name = f"fairness ({who}): 9 quiet tenants' p99 beside a {NOISY_FACTOR}x tenant"
    rows = [Result(name, fair.noisy_p99, fair.quiet_p99, "same 9, no noisy tenant")]
    if fair.refused:
        what = f"fairness ({who}): share of the noisy tenant's messages refused (429)"
        rows.append(Result(what, fair.refused * 100, 100.0, "all of them", unit="%"))
    rows.append(
        Result(
            f"fairness ({who}): median of {FAIR_RUNS} runs' p99 ratio (target <= 1.5x)",
            fair.ratio,
            1.0,
            "equal",
            unit="x",
        )
    )
    return rows
