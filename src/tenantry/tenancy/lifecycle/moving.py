"""What a migration between profiles needs from the backends (the ports), and the kit that
``bootstrap`` wires for the migrate recipe (``recipes/migration.py``).

Drivers live in ``backends``: ``backends/postgres/moves.py`` copies relational data between a
shared-database schema and a dedicated database; ``backends/s3/moves.py`` and
``backends/fs/moves.py`` copy objects between a shared prefix and a dedicated bucket (or their
local directories). On the embedded default, relational data stays in its SQLite file whatever
the profile, so there is nothing relational to move.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.core.errors import Conflict
from tenantry.runtime.blobs import MAX_PAGE, BlobNotFound, BlobSpace
from tenantry.tenancy.controller.resources import Provisioner
from tenantry.tenancy.isolation.placement import ObjectPlacement, Placement
from tenantry.tenancy.isolation.strategies import Layout
from tenantry.tenancy.lifecycle.freeze import Freezer
from tenantry.tenancy.schema.service import Migrator

DEFAULT_GRACE = timedelta(days=7)


class VerificationFailed(Conflict):
    """The copy differs from its source: the migration rolls back to the old placement."""

    code = "migration.verification_failed"


@dataclass(frozen=True, slots=True)
class TableSum:
    """One table's row count and an order-independent checksum of its rows."""

    rows: int
    checksum: str


@dataclass(frozen=True, slots=True)
class Copied:
    rows: dict[str, int]  # rows copied, by table
    sums: dict[str, TableSum]  # the copied tables' sums at the source, in the snapshot read


@dataclass(frozen=True, slots=True)
class Refreshed:
    stale: list[str]  # the tables copied again
    source: dict[str, TableSum]  # every source table's sums (the source holds still)
    target: dict[str, TableSum]  # the stale tables' sums in the target after the copy


class RelationalMover(Protocol):
    """Copies one tenant environment's relational data between two placements."""

    def moves(self, source: Placement, target: Placement) -> bool:
        """Whether the data lives somewhere else under ``target``."""
        ...

    async def prepare(self, source: Placement, target: Placement) -> None:
        """Make the tables (and sequences, indexes, constraints) ``source`` has and ``target``
        lacks after the tenant migration tree ran there; run as the tenant's role."""
        ...

    async def copy(
        self, source: Placement, target: Placement, tables: Sequence[str] | None = None
    ) -> Copied:
        """Copy ``tables`` (default: every table) from one consistent snapshot of ``source``,
        emptying each first in ``target`` (so a re-run is idempotent)."""
        ...

    async def refresh(
        self, source: Placement, target: Placement, recorded: Mapping[str, TableSum]
    ) -> Refreshed:
        """The cutover's catch-up in one source snapshot and one target transaction: every
        table whose sums differ from ``recorded`` (the copy's) is copied again."""
        ...

    async def sums(
        self, placement: Placement, tables: Sequence[str] | None = None
    ) -> dict[str, TableSum]:
        """Each table's (default: every table's) row count and checksum."""
        ...

    async def drop(self, placement: Placement) -> None:
        """Remove the placement's schema or database and its data; never the tenant's role,
        which every placement of the environment shares."""
        ...


class ObjectMover(Protocol):
    """Copies one tenant environment's objects between two object spaces."""

    async def listing(self, space: ObjectPlacement) -> dict[str, str]:
        """Every object key with a tag of its stored bytes (equal bytes, equal tags)."""
        ...

    async def copy(
        self, source: ObjectPlacement, target: ObjectPlacement, keys: Sequence[str]
    ) -> None: ...

    async def digests(self, space: ObjectPlacement, keys: Sequence[str]) -> dict[str, str]:
        """The SHA-256 of each key's stored bytes (absent keys are left out)."""
        ...

    async def remove(self, space: ObjectPlacement, keys: Sequence[str]) -> None: ...


Reconcile = Callable[[str], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Moving:
    """What the migrate recipe works with (wired by ``bootstrap``)."""

    layout: Layout
    provisioners: Sequence[Provisioner]
    migrator: Migrator
    objects: ObjectMover
    freezer: Freezer
    engine: AsyncEngine  # the control database (the controller's reconcile lease)
    relational: RelationalMover | None = None  # None: relational data never moves (SQLite)
    grace: timedelta = DEFAULT_GRACE  # how long the old copy is kept after the cutover
    reconcile: Reconcile | None = None  # the controller's reconcile, after the flip


def mismatches(source: Mapping[str, object], target: Mapping[str, object]) -> list[str]:
    """The names whose values differ between two maps (missing on either side included)."""
    return sorted(k for k in set(source) | set(target) if source.get(k) != target.get(k))


RESERVED = ".tenantry"  # the platform's marker keys in an object space: never moved


def platform_key(key: str) -> bool:
    return key.split("/", 1)[0].startswith(RESERVED)


class BlobObjectMover:
    """:class:`ObjectMover` over the blob space port (local directories): tags are the
    SHA-256 of the stored bytes, so listing reads every object; fine on a local disk."""

    def __init__(self, spaces: Callable[[ObjectPlacement], BlobSpace], *, batch: int = 16) -> None:
        self._spaces, self._batch = spaces, batch

    async def listing(self, space: ObjectPlacement) -> dict[str, str]:
        blobs = self._spaces(space)
        keys: list[str] = []
        after: str | None = None
        while True:
            page = await blobs.list(after=after, limit=MAX_PAGE)
            keys.extend(k for k in page if not platform_key(k))
            if len(page) < MAX_PAGE:
                break
            after = page[-1]
        return await self.digests(space, keys)

    async def copy(
        self, source: ObjectPlacement, target: ObjectPlacement, keys: Sequence[str]
    ) -> None:
        src, dst = self._spaces(source), self._spaces(target)

        async def one(key: str) -> None:
            try:
                blob = await src.get(key)
            except BlobNotFound:  # deleted since it was listed: the catch-up removes it
                return
            await dst.put(key, blob.data)

        await _batched(one, keys, self._batch)

    async def digests(self, space: ObjectPlacement, keys: Sequence[str]) -> dict[str, str]:
        blobs = self._spaces(space)
        found: dict[str, str] = {}

        async def one(key: str) -> None:
            try:
                found[key] = hashlib.sha256((await blobs.get(key)).data).hexdigest()
            except BlobNotFound:
                return

        await _batched(one, keys, self._batch)
        return found

    async def remove(self, space: ObjectPlacement, keys: Sequence[str]) -> None:
        blobs = self._spaces(space)

        async def one(key: str) -> None:
            await blobs.delete(key)

        await _batched(one, keys, self._batch)


async def _batched(work: Callable[[str], Awaitable[None]], keys: Sequence[str], size: int) -> None:
    for start in range(0, len(keys), size):
        await asyncio.gather(*(work(k) for k in keys[start : start + size]))
