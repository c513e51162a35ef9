"""The JetStream stream of tenancy events: every subject under the events prefix, kept for the
retention (limits retention: consumers outside Tenantry read it at their own pace), with
duplicates of an event id dropped within the deduplication window."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tenantry.core import names


@dataclass(frozen=True, slots=True)
class EventStreamLimits:
    max_age_seconds: float = 7 * 86_400.0
    duplicate_window_seconds: float = 120.0


def config(prefix: str, limits: EventStreamLimits) -> StreamConfig:
    return StreamConfig(
        name=names.events_stream(prefix),
        subjects=[names.event_filter(prefix=prefix)],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=limits.max_age_seconds,
        duplicate_window=limits.duplicate_window_seconds,
    )


async def ensure(js: JetStreamContext, prefix: str, limits: EventStreamLimits) -> None:
    """Create the events stream unless it exists (idempotent; an existing one is kept)."""
    try:
        await js.stream_info(names.events_stream(prefix))
    except NotFoundError:
        await js.add_stream(config(prefix, limits))
