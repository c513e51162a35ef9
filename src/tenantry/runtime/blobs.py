"""The blob space port: a flat space of relative keys holding opaque bytes.

Sessions and objects are stored in blob spaces (a local directory, an S3 bucket or prefix). The
port is small on purpose: get, stat, put, delete, and a sorted, paged list. Optimistic
concurrency rides on an opaque *version* that :meth:`BlobSpace.get` and :meth:`BlobSpace.stat`
return and :meth:`BlobSpace.put` / :meth:`BlobSpace.delete` can require (``if_match``), plus
create-only writes (``if_absent``).
Keys are relative and checked with :func:`tenantry.core.names.check_relative_key`; a space can
never be left through its keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from tenantry.core import names
from tenantry.core.errors import Conflict, Forbidden, InvalidInput, NotFound

MAX_PAGE: Final = 1000  # the S3 API's own page limit
RACE_ATTEMPTS: Final = 8  # reads and conditional writes tried before a conflict is reported
T = TypeVar("T")


class BlobNotFound(NotFound):
    code = "blob.not_found"


class BlobConflict(Conflict):
    """A conditional write or delete whose condition no longer holds."""

    code = "blob.precondition_failed"


class BlobTooLarge(InvalidInput):
    code = "blob.too_large"


class UnsafePath(Forbidden):
    """The stored tree holds something that must not be followed (a symlink, a device)."""

    code = "blob.unsafe_path"


class PageLimitInvalid(InvalidInput):
    code = "page.limit_invalid"


@dataclass(frozen=True, slots=True)
class Blob:
    data: bytes
    # Opaque, and derived from the content (like an S3 ETag): writing the same bytes again
    # keeps the version. Sealed records never repeat (fresh nonces), so for them each write
    # has its own version.
    version: str


@dataclass(frozen=True, slots=True)
class BlobStat:
    """A blob's stored size and version, without its bytes."""

    size: int
    version: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing."""

    items: tuple[T, ...]
    next_cursor: str | None  # pass back as ``after`` for the next page; None at the end


class BlobSpace(Protocol):
    """One confined space of blobs; every key is relative to it."""

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        """The blob and its version; :class:`BlobNotFound` when absent, :class:`BlobTooLarge`
        when it holds more than ``max_bytes`` (nothing beyond that is read)."""
        ...

    async def stat(self, key: str) -> BlobStat:
        """The blob's size and version (for a conditional write that counts what it replaces);
        :class:`BlobNotFound` when absent."""
        ...

    async def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False
    ) -> str:
        """Write atomically and return the new version. ``if_match``: only over that version;
        ``if_absent``: only if the key is free. A failed condition is :class:`BlobConflict`."""
        ...

    async def delete(self, key: str, *, if_match: str | None = None) -> bool:
        """Remove the blob; False when it was absent. A failed ``if_match`` is a conflict."""
        ...

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 100
    ) -> list[str]:
        """Keys that start with ``prefix`` and sort after ``after``, sorted, at most ``limit``."""
        ...


class ArchiveArea(Protocol):
    """Where tenants' archives live: the object backend's ``archive/{tenant}/`` areas."""

    def space(self, tenant: str) -> BlobSpace:
        """The tenant's archive area (keys are ``names.archive_key``s)."""
        ...


async def retry_conflicts(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run a read followed by a write conditional on what was read, again while another writer
    changes the blob in between; the last :class:`BlobConflict` after :data:`RACE_ATTEMPTS`."""
    for _ in range(RACE_ATTEMPTS - 1):
        try:
            return await attempt()
        except BlobConflict:
            continue
    return await attempt()


def check_key(key: object) -> str:
    return names.check_relative_key(key)


def check_prefix(prefix: object) -> str:
    """A list prefix: empty, or a key start (it may end in ``/`` or part-way through a name)."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        return names.check_relative_key(prefix)  # raises with the standard message
    names.check_relative_key(prefix.removesuffix("/"))
    return prefix


def check_after(after: object) -> str | None:
    return None if after is None else names.check_relative_key(after)


def check_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_PAGE:
        raise PageLimitInvalid(f"a page limit is an integer from 1 to {MAX_PAGE}, not {limit!r}")
    return limit
