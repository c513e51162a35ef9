"""Live listeners' inboxes, the same on every bus: bounded, the oldest dropped when full."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final

from tenantry.runtime.messaging.ports import Message

BUFFER: Final = 1024  # messages a listener may fall behind by


def inbox() -> asyncio.Queue[Message]:
    return asyncio.Queue(BUFFER)


async def drain(queue: asyncio.Queue[Message]) -> AsyncIterator[Message]:
    while True:
        yield await queue.get()


def offer(queue: asyncio.Queue[Message], message: Message) -> None:
    """A live listener too slow to keep up loses the oldest message, as on core NATS."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)
