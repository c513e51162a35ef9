"""Coalesced reads: one read for the callers waiting at once, each answered by a read that
started after it asked (never by one already running), failures and cancellations passed on."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest

from tenantry.core.coalesce import Coalescing


class Store:
    """A value per key that a test changes, and a record of each read's keys and version."""

    def __init__(self) -> None:
        self.version = 0
        self.reads: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.fail: Exception | None = None

    async def read(self, keys: Collection[str]) -> dict[str, int]:
        self.reads.append(sorted(keys))
        self.started.set()
        seen = self.version  # what the read sees: the version when it started
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {key: seen for key in keys if key != "absent"}


async def test_callers_at_once_share_one_read() -> None:
    store = Store()
    reads = Coalescing(store.read, running=1)
    found = await asyncio.gather(*(reads.get(key) for key in ["a", "b", "a", "absent"]))
    assert found == [0, 0, 0, None]
    assert store.reads == [["a", "absent", "b"]]


async def test_a_caller_is_never_answered_by_a_read_already_running() -> None:
    store = Store()
    store.gate.clear()
    reads = Coalescing(store.read, running=1)
    before = asyncio.create_task(reads.get("a"))
    await store.started.wait()  # the first read has started, seeing version 0
    store.version = 1  # a commit (a suspend) after that read started
    after = asyncio.create_task(reads.get("a"))  # asked after the commit
    await asyncio.sleep(0)
    store.gate.set()
    assert await before == 0
    assert await after == 1  # from a second read, started after it asked
    assert store.reads == [["a"], ["a"]]


async def test_two_reads_may_run_at_once() -> None:
    store = Store()
    store.gate.clear()
    reads = Coalescing(store.read, running=2)
    first = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    second = asyncio.create_task(reads.get("b"))
    await asyncio.sleep(0)
    third = asyncio.create_task(reads.get("c"))  # waits for one of them to end
    await asyncio.sleep(0)
    assert store.reads == [["a"], ["b"]]
    store.gate.set()
    assert await asyncio.gather(first, second, third) == [0, 0, 0]
    assert store.reads == [["a"], ["b"], ["c"]]


async def test_a_failed_read_fails_its_callers_only() -> None:
    store = Store()
    reads = Coalescing(store.read)
    store.fail = OSError("database down")
    with pytest.raises(OSError, match="down"):
        await reads.get("a")
    store.fail = None
    assert await reads.get("a") == 0


async def test_a_cancelled_caller_leaves_the_others_answered() -> None:
    store = Store()
    store.gate.clear()
    reads = Coalescing(store.read, running=1)
    leaving = asyncio.create_task(reads.get("a"))
    staying = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    leaving.cancel()
    store.gate.set()
    assert await staying == 0
    with pytest.raises(asyncio.CancelledError):
        await leaving
