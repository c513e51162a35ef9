"""Events (issue 13): what the outbox, the dispatcher and a signature cost, each against its
anchor in the same run, on the embedded default (SQLite, in-process bus).

* emit: one transaction writing one signed, numbered event (``outbox.emit``), against the same
  transaction inserting one bare row (the cost of the transaction itself);
* dispatch: publishing ``EVENTS`` committed events (read, publish, mark), against publishing the
  same bytes on the bus directly;
* verify: ``verify_event`` (parse, canonical form, Ed25519), against the Ed25519 check alone.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.harness import Result, median_time
from tenantry.bootstrap import services
from tenantry.core import names
from tenantry.core.clock import utc_now
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.ports import Bus
from tenantry.tenancy.access.signing import SigningKey
from tenantry.tenancy.events import envelope
from tenantry.tenancy.events.models import EventMarkRow
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.events.signing import canonical, sign, verify_event
from tenantry.tenancy.registry.database import session_factory

TRANSACTIONS: Final = 300
ROUNDS: Final = 6
EVENTS: Final = 1_000
VERIFIES: Final = 2_000
DATA: Final = {"job_id": "0" * 32, "kind": "suspend", "change": "succeeded", "error": None}


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        return [*asyncio.run(_database(Path(folder))), _verify()]


async def _database(folder: Path) -> list[Result]:
    settings = Settings(data_dir=folder / "data", database_url=f"sqlite:///{folder / 'c.db'}")
    async with services(settings) as wired:
        sessions = session_factory(wired.engine)
        counter = itertools.count()

        async def emitting() -> None:
            async with sessions() as session, session.begin():
                await emit(session, Event(EventType.TENANT_SUSPENDED, "acme", DATA), now=utc_now())

        async def bare() -> None:
            async with sessions() as session, session.begin():
                await session.execute(
                    EventMarkRow.__table__.insert().values(
                        key=str(next(counter)), created_at=utc_now()
                    )
                )

        ours, anchor = await _alternating(emitting, bare)
        found = [Result("events: emit (one transaction)", ours, anchor, "bare insert")]
        assert wired.events is not None
        dispatcher = wired.events.dispatcher
        for _ in range(EVENTS - TRANSACTIONS):  # the emit rounds left TRANSACTIONS events
            await emitting()
        start = time.perf_counter()
        while await dispatcher.publish_pending():
            pass
        dispatched = (time.perf_counter() - start) / EVENTS
        direct = await _direct(wired.bus)
        found.append(Result(f"events: dispatch ({EVENTS})", dispatched, direct, "bus publish"))
        return found


async def _alternating(
    ours: Callable[[], Awaitable[None]], anchor: Callable[[], Awaitable[None]]
) -> tuple[float, float]:
    """Median per-call times over ``ROUNDS`` rounds, ours and the anchor alternating (so a
    busy moment of the machine weighs on both)."""
    found: tuple[list[float], list[float]] = ([], [])
    for _ in range(ROUNDS):
        for work, times in zip((ours, anchor), found, strict=True):
            start = time.perf_counter()
            for _ in range(TRANSACTIONS // ROUNDS):
                await work()
            times.append((time.perf_counter() - start) / (TRANSACTIONS // ROUNDS))
    return statistics.median(found[0]), statistics.median(found[1])


async def _direct(bus: Bus) -> float:
    subject = names.event_subject("acme", EventType.TENANT_SUSPENDED.value)
    payload = json.dumps(DATA).encode()
    start = time.perf_counter()
    for n in range(EVENTS):
        await bus.publish_event(subject, payload, message_id=f"{n:032x}")
    return (time.perf_counter() - start) / EVENTS


def _verify() -> Result:
    key = SigningKey("k", Ed25519PrivateKey.generate())
    body = envelope.build(
        Event(EventType.TENANT_SUSPENDED, "acme", DATA), event_id="a" * 32, seq=1, now=utc_now()
    )
    signed = sign(body, key)
    text, public = json.dumps(signed), {"k": key.private_key.public_key()}
    raw, message = _signature(signed), canonical(signed)
    ours = median_time(lambda: [verify_event(text, public) for _ in range(VERIFIES)]) / VERIFIES
    anchor = median_time(lambda: [public["k"].verify(raw, message) for _ in range(VERIFIES)])
    return Result("events: verify_event", ours, anchor / VERIFIES, "Ed25519 verify")


def _signature(signed: dict[str, object]) -> bytes:
    text = str(signed["signature"])
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
