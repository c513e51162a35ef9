"""Reads by key coalesced into batches: one round trip for every caller waiting at once.

Each caller is answered by a batch that *started after it asked*, never by one already running
when it called: what it reads is at least as new as a read of its own would have been. That is
what a read that must see every commit made before it (a tenant's lifecycle state, read after
the request's fence hold was taken) needs; joining a read already under way would not give it.
Callers that ask while ``running`` batches are under way wait for the next one, which takes
every key asked for meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Coalescing(Generic[K, V]):
    def __init__(
        self, read: Callable[[Collection[K]], Awaitable[Mapping[K, V]]], *, running: int = 2
    ) -> None:
        self._read, self._most = read, running
        self._asked: dict[K, list[asyncio.Future[V | None]]] = {}
        self._batches: set[asyncio.Task[None]] = set()

    async def get(self, key: K) -> V | None:
        """The value of ``key`` (None if absent), from a batch started after this call."""
        answer: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(key, []).append(answer)
        self._start()
        return await answer

    def _start(self) -> None:
        if self._asked and len(self._batches) < self._most:
            batch = asyncio.create_task(self._run())
            self._batches.add(batch)
            batch.add_done_callback(self._finished)

    def _finished(self, batch: asyncio.Task[None]) -> None:
        self._batches.discard(batch)
        self._start()  # the keys asked for while it ran

    async def _run(self) -> None:
        asked, self._asked = self._asked, {}  # every key asked for until the read starts
        if not asked:
            return
        try:
            found = await self._read(list(asked))
        except BaseException as error:
            for answers in asked.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(error if isinstance(error, Exception) else _gone())
            if not isinstance(error, Exception):
                raise
            return
        for key, answers in asked.items():
            for answer in answers:
                if not answer.done():  # a cancelled caller's answer is dropped
                    answer.set_result(found.get(key))


def _gone() -> Exception:
    return RuntimeError("the batched read was cancelled")
