"""Encrypted session write+read on the local backend vs raw CBOR files of the same size.

Ours, per operation: ``SessionStore.update`` (CBOR encode, checks, AES-256-GCM envelope, a
conditional atomic write: walk without symlinks, directory lock, version compare, temporary
file, rename) then ``SessionStore.get`` (read, open the envelope, bounded decode, checks).
The anchor, per operation: ``cbor2.dumps`` of the same record, a plain ``open``/``write`` of
the file, a plain ``open``/``read`` and ``cbor2.loads`` — no encryption, no checks, no rename.
Both cycle over the same 50 sessions of about 4 KiB, timed in alternating rounds (medians), so
that a machine busy with other work slows both alike. The target is at least half the anchor's
throughput (ours / anchor <= 2) with the same durability on both sides; the fsync rows show
what durability costs on this disk (the store fsyncs by default).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2

from bench.harness import Result, median_time
from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.backends.keys.keyring import Keyring
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.sessions import codec
from tenantry.runtime.sessions.schemas import Session, TranscriptEntry
from tenantry.runtime.sessions.store import SessionStore

SESSIONS = 50
OPERATIONS = 200
ROUNDS = 9


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        keyring = Keyring(root / "keys")
        keyring.create("acme")
        sealer = Sealer(keyring)
        loop = asyncio.new_event_loop()
        try:
            timings = _interleaved(
                {
                    "fast": _ours(loop, root / "fast", sealer, durable=False),
                    "durable": _ours(loop, root / "durable", sealer, durable=True),
                    "raw": _anchor(root / "raw", fsync=False),
                    "raw_fsync": _anchor(root / "raw-fsync", fsync=True),
                }
            )
        finally:
            loop.close()
    size = f"{len(codec.encode(_record()))} B"
    fast, durable, raw, synced = (timings[k] for k in ("fast", "durable", "raw", "raw_fsync"))
    return [
        Result(f"session write+read, {size}, local, no fsync", fast, raw, "raw CBOR files"),
        Result(f"session write+read, {size}, local, fsync", durable, synced, "raw CBOR + fsync"),
        Result(f"session write+read, {size}, local, fsync (default)", durable, raw, "raw CBOR"),
    ]


def _interleaved(cycles: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Seconds per operation of each cycle, the runs taken in turns so that a machine busy
    with other work slows every side alike (the median of the turns)."""
    samples: dict[str, list[float]] = {name: [] for name in cycles}
    for _ in range(ROUNDS):
        for name, cycle in cycles.items():
            samples[name].append(median_time(cycle, runs=1) / OPERATIONS)
    return {name: statistics.median(times) for name, times in samples.items()}


def _record() -> Session:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    return Session(
        tenant_id="acme",  # type: ignore[arg-type]
        env_id="prod",  # type: ignore[arg-type]
        team_id="support",  # type: ignore[arg-type]
        session_id="s0",  # type: ignore[arg-type]
        channel_id=None,
        user_id="user-1",
        cursor=None,
        variables={f"var_{i}": f"value number {i} " * 3 for i in range(20)},
        transcript=tuple(
            TranscriptEntry("user" if i % 2 else "assistant", "a message of some words " * 4, now)
            for i in range(25)
        ),
        created_at=now,
        updated_at=now,
        expires_at=None,
        revision=1,
    )


def _ours(
    loop: asyncio.AbstractEventLoop, root: Path, sealer: Sealer, *, durable: bool
) -> Callable[[], None]:
    store = SessionStore("acme", "prod", LocalBlobSpace(root, durable=durable), sealer)
    template = _record()

    async def setup() -> list[Session]:
        return [
            await store.create(
                "support", f"s{n}", variables=template.variables, transcript=template.transcript
            )
            for n in range(SESSIONS)
        ]

    async def cycle(current: list[Session]) -> None:
        for n in range(OPERATIONS):
            slot = n % SESSIONS
            written = await store.update(replace(current[slot], user_id=f"user-{n}"))
            current[slot] = await store.get("support", written.session_id)

    current = loop.run_until_complete(setup())
    return lambda: loop.run_until_complete(cycle(current))


def _anchor(root: Path, *, fsync: bool) -> Callable[[], None]:
    root.mkdir(parents=True)
    record: dict[str, Any] = cbor2.loads(codec.encode(_record()))
    paths = [root / f"s{n}.cbor" for n in range(SESSIONS)]

    def cycle() -> None:
        for n in range(OPERATIONS):
            path = paths[n % SESSIONS]
            record["user"] = f"user-{n}"
            with path.open("wb") as handle:
                handle.write(cbor2.dumps(record))
                if fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            with path.open("rb") as handle:
                cbor2.loads(handle.read())

    cycle()  # every file exists before timing, as the sessions do
    return cycle
