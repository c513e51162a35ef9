"""Re-wrapping the sealed records of a blob space with the tenant's active key (rotation).

Each record is read, its data key re-wrapped (the payload is untouched) and written back only
over the version read, so a writer that got there first wins and the record is looked at again.
Records the active key already wraps are left alone: a run killed half-way and started again
converges, and a run that re-wraps nothing shows that no record needs an older key any more.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tenantry.core.logging import get_logger
from tenantry.runtime.blobs import (
    MAX_PAGE,
    BlobNotFound,
    BlobSpace,
    BlobTooLarge,
    retry_conflicts,
)
from tenantry.runtime.crypto import Undecryptable
from tenantry.runtime.quota import StorageQuota, Stored, stored

RewrapRecord = Callable[[str, bytes], bytes | None]
"""``(key, sealed)`` to the record re-wrapped by the active key, None when it already is;
raises :class:`~tenantry.runtime.crypto.Undecryptable` when its data key does not unwrap."""

_log = get_logger(__name__)
_LOGGED_FAILURES: Final = 20
_CONCURRENCY: Final = 8  # records in flight at once: round trips overlap on S3


class Outcome(enum.Enum):
    REWRAPPED = "rewrapped"
    CURRENT = "current"  # already wrapped by the active key
    FAILED = "failed"  # does not open: tampered, too large to read, or its key is gone
    GONE = "gone"  # deleted while the run went by


@dataclass(frozen=True, slots=True)
class RewrapReport:
    """What one re-wrap run did. ``failed`` names the records that did not open; they keep
    their old key, which must not be retired while they matter. ``next_cursor`` is where a run
    cut short by its ``limit`` goes on (pass it back as ``after``); None once all was seen."""

    kid: str  # the active key when the run started
    rewrapped: int = 0
    current: int = 0
    failed: tuple[str, ...] = ()
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Walk:
    """Which records of a space a run visits, how much of each it may read, what it counts."""

    space: BlobSpace
    prefix: str  # where the store's records are; cursors are relative to it
    include: Callable[[str], bool]  # a listed key is one of the store's records
    read_limit: int
    quota: StorageQuota
    resource: Stored  # what the records are, and what the quota counts them as


async def rewrap_space(
    walk: Walk, rewrap: RewrapRecord, *, kid: str, after: str | None, limit: int | None
) -> RewrapReport:
    """Re-wrap the records listed after ``after``, at most ``limit`` listed keys (all when
    None). ``after``, ``next_cursor`` and ``failed`` are relative to the walk's prefix."""
    if limit is not None and limit < 1:
        raise ValueError(f"a re-wrap run looks at one record or more, not {limit}")
    outcomes: Counter[Outcome] = Counter()
    failed: list[str] = []
    at, seen = None if after is None else walk.prefix + after, 0
    while True:
        size = MAX_PAGE if limit is None else min(MAX_PAGE, limit - seen)
        page = await walk.space.list(walk.prefix, after=at, limit=size)
        keys = list(filter(walk.include, page))
        done = await _each(walk, rewrap, keys)
        outcomes.update(done)
        failed += [key for key, o in zip(keys, done, strict=True) if o is Outcome.FAILED]
        seen, more = seen + len(page), len(page) == size
        if not more or (limit is not None and seen >= limit):
            following = page[-1].removeprefix(walk.prefix) if more else None
            return _report(walk, kid, outcomes, failed, following)
        at = page[-1]


async def _each(walk: Walk, rewrap: RewrapRecord, keys: list[str]) -> list[Outcome]:
    """The outcome of each of ``keys``, in order, a few records in flight at once."""
    outcomes: list[Outcome] = []
    for start in range(0, len(keys), _CONCURRENCY):
        chunk = keys[start : start + _CONCURRENCY]
        outcomes += await asyncio.gather(*(_one(walk, rewrap, key) for key in chunk))
    return outcomes


async def _one(walk: Walk, rewrap: RewrapRecord, key: str) -> Outcome:
    async def attempt() -> Outcome:
        try:
            blob = await walk.space.get(key, max_bytes=walk.read_limit)
        except BlobNotFound:
            return Outcome.GONE
        except BlobTooLarge:
            return Outcome.FAILED
        try:
            sealed = rewrap(key, blob.data)
        except Undecryptable:
            return Outcome.FAILED
        if sealed is None:
            return Outcome.CURRENT
        # Key ids all have one length, so sizes stay; counted all the same should one differ.
        async with stored(walk.quota, walk.resource, old=len(blob.data), new=len(sealed)):
            await walk.space.put(key, sealed, if_match=blob.version)
        return Outcome.REWRAPPED

    return await retry_conflicts(attempt)


def _report(
    walk: Walk, kid: str, outcomes: Counter[Outcome], failed: list[str], following: str | None
) -> RewrapReport:
    resource = walk.resource.value
    for key in failed[:_LOGGED_FAILURES]:
        _log.warning("rewrap.refused", resource=resource, key=key.removeprefix(walk.prefix))
    counts = {outcome.value: outcomes[outcome] for outcome in Outcome}
    _log.info("rewrap.run", resource=resource, kid=kid, done=following is None, **counts)
    return RewrapReport(
        kid=kid,
        rewrapped=outcomes[Outcome.REWRAPPED],
        current=outcomes[Outcome.CURRENT],
        failed=tuple(key.removeprefix(walk.prefix) for key in failed),
        next_cursor=following,
    )
