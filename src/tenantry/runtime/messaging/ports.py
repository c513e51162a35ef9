"""The bus port, implemented by the in-process bus and by NATS JetStream.

Two kinds of reading:

* **durable** (:meth:`Bus.fetch`): the messages of one direction of one tenant environment, from
  its durable consumer, each delivered until it is acknowledged (at least once); a runner pulls
  ingress this way, an adapter's sender pulls egress;
* **live** (:meth:`Bus.listen`): whatever is published on a subject filter from now on, not kept
  (a webchat long-poll, an event stream, a Teams reply waiting in its HTTP response).

Publishing is durable for every subject under the prefix: the message is stored in its tenant
environment's stream before :meth:`Bus.publish` returns, deduplicated by its message id within
the bus's deduplication window, and refused with ``TenantBusFull`` (429) when that tenant's share
of the stream is full.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from tenantry.core import names


@dataclass(frozen=True, slots=True)
class Message:
    """A message as read live: its subject and its bytes (an envelope, once decoded)."""

    subject: str
    data: bytes


class Delivery(Protocol):
    """One durable delivery; exactly one of ``ack``, ``nak`` or ``term`` settles it."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def attempt(self) -> int:
        """1 on the first delivery, 2 on the first redelivery..."""
        ...

    async def ack(self) -> None: ...

    async def nak(self, delay: float | None = None) -> None:
        """Deliver again, after ``delay`` seconds (the bus's backoff when None)."""
        ...

    async def term(self) -> None:
        """Never deliver again (after the message was dead-lettered)."""
        ...

    async def in_progress(self) -> None:
        """Still working on it: push back the redelivery deadline."""
        ...


class Bus(Protocol):
    prefix: str  # the subject prefix every subject of this bus starts with
    events_prefix: str  # the prefix of tenancy events' subjects (``publish_event``)

    async def publish(self, subject: str, data: bytes, *, message_id: str) -> None: ...

    async def publish_event(self, subject: str, data: bytes, *, message_id: str) -> None:
        """Publish a tenancy event (a subject of :func:`names.event_subject`) on the events
        stream, kept for its consumers and deduplicated by ``message_id`` (the event id)."""
        ...

    async def fetch(
        self,
        direction: names.Direction,
        tenant: str,
        env: str,
        *,
        batch: int = 1,
        wait: float = 1.0,
    ) -> Sequence[Delivery]:
        """Up to ``batch`` durable deliveries of the tenant environment in ``direction``,
        waiting up to ``wait`` seconds for the first; ``[]`` when none came."""
        ...

    def listen(
        self, subject_filter: str, *, queue: str | None = None
    ) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """Live messages on ``subject_filter`` (``*`` and ``>`` wildcards; under the messaging
        or the events prefix) while open; of the listeners sharing a ``queue`` group, one gets
        each message."""
        ...

    async def close(self) -> None: ...
