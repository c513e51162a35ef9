"""The storage quota port: what a tenant-confined store calls before it writes.

A store is handed the :class:`StorageQuota` of its tenant (``tenancy.limits.quotas.TenantQuota``
in a running process, :data:`UNLIMITED` where stores are built by hand) and counts every item it
keeps: a new item reserves its bytes and one item before it is written, an overwrite reserves
its growth (or gives back its shrink once written), a delete gives back what it removed. A
reservation is released when the write under it fails, so a refused or failed write leaves the
counters as they were.

Bytes are *stored* bytes: what the backend keeps for the item's value (the sealed envelope for
sessions, objects and secrets; the JSON text for state, which is not sealed). Names, keys and
backend metadata are not counted. The refusals are ``tenancy``'s ``quota.exceeded`` (403) and
``quota.too_large`` (413); this layer only knows their codes (:data:`REFUSALS`).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Final, Protocol

from tenantry.core.errors import TenantryError

REFUSALS: Final = frozenset({"quota.exceeded", "quota.too_large"})
"""The codes of a quota's refusals (raised by the quota, never by the stores)."""


class Stored(enum.StrEnum):
    """The stored resources a quota counts; the values are ``tenancy``'s ``Resource`` values."""

    SESSIONS = "sessions"
    OBJECTS = "objects"
    STATE = "state"
    SECRETS = "secrets"


class StorageQuota(Protocol):
    """One tenant's storage quota (``TenantQuota`` satisfies it)."""

    def reserve(
        self,
        resource: str,
        bytes: int,
        count: int = 1,
        *,
        item_bytes: int | None = None,
    ) -> AbstractAsyncContextManager[None]:
        """Count ``bytes`` and ``count`` items for the block, or refuse; given back if the
        block raises. ``item_bytes``: the size of the item written when ``bytes`` is only its
        growth."""
        ...

    async def release(self, resource: str, bytes: int, count: int = 1) -> None:
        """Give back ``bytes`` and ``count`` items (never below zero)."""
        ...


class Unlimited:
    """A quota that admits everything and counts nothing: for stores built by hand (tests,
    tools) and for the platform's own records."""

    def reserve(
        self,
        resource: str,
        bytes: int,
        count: int = 1,
        *,
        item_bytes: int | None = None,
    ) -> AbstractAsyncContextManager[None]:
        return nullcontext()

    async def release(self, resource: str, bytes: int, count: int = 1) -> None:
        return None


UNLIMITED: Final = Unlimited()


def unlimited(tenant: str) -> StorageQuota:
    """Every tenant's quota is :data:`UNLIMITED` (the default of ``RuntimeBackends``)."""
    return UNLIMITED


@asynccontextmanager
async def stored(
    quota: StorageQuota, resource: Stored, *, old: int | None, new: int
) -> AsyncIterator[None]:
    """Count a write of ``new`` stored bytes over an item of ``old`` bytes (None: a new item).

    A new item reserves its bytes and one item; a growth reserves the difference with no item
    (``item_bytes`` is the new size); all three are released if the block raises. A shrink is
    given back only after the block succeeded, so a failed write never frees room it still uses.
    """
    if old is None:
        async with quota.reserve(resource, new):
            yield
    elif new > old:
        async with quota.reserve(resource, new - old, 0, item_bytes=new):
            yield
    else:
        yield
        if new < old:
            await quota.release(resource, old - new, 0)


def refused(error: BaseException) -> bool:
    """Whether ``error`` is a quota's refusal (as opposed to a failed write)."""
    return isinstance(error, TenantryError) and error.code in REFUSALS
