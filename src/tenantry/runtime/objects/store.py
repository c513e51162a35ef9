"""Objects of one tenant environment, sealed per tenant, in its own blob space.

The space handed in is the tenant environment's (its shared-bucket prefix or its own bucket or
directory), so keys are relative to it and can only name things inside: ``..``, ``.``, empty
segments, a leading ``/``, backslashes and control characters (NUL included) are refused by
``names.check_relative_key``. Each object is its media type and bytes sealed with the tenant's
key and bound to the tenant, environment and key (``records``), so bytes copied from another
tenant's space (or another key) do not open. Keys whose first segment starts with ``.tenantry``
belong to the platform (the shared-prefix owner marker) and are neither readable, writable nor
listed.

Every object counts against the tenant's object quota at its sealed size. A write reads the
size and version of what it replaces (one ``stat``), counts the difference, and writes only over
that version; a delete does the same before it gives the room back. A concurrent writer of the
same key makes the loser count and write again, so the last writer wins and the counters match
what is stored. A change may carry a precondition on the current ETag (If-Match, create-only):
it is asked about the version the write is conditional on, and again after every lost race.
"""

from __future__ import annotations

from typing import Final

from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.blobs import (
    MAX_PAGE,
    BlobNotFound,
    BlobSpace,
    BlobStat,
    BlobTooLarge,
    Page,
    retry_conflicts,
)
from tenantry.runtime.crypto import Sealer
from tenantry.runtime.objects import media
from tenantry.runtime.objects.errors import (
    CursorInvalid,
    ObjectKeyInvalid,
    ObjectNotFound,
    ObjectTooLarge,
    PreconditionFailed,
    StoredObjectTooLarge,
)
from tenantry.runtime.objects.records import Record, Records
from tenantry.runtime.objects.schemas import Precondition, StoredObject, Written
from tenantry.runtime.quota import UNLIMITED, StorageQuota, Stored, stored
from tenantry.runtime.rewrap import RewrapReport, Walk, rewrap_space

DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024
READ_FLOOR: Final = 64 * 1024 * 1024  # stored objects up to this stay readable if a cap shrinks
SEAL_OVERHEAD: Final = 1024  # the envelope (125 bytes) and the frame (at most 257 bytes)
RESERVED: Final = ".tenantry"


class ObjectStore:
    def __init__(
        self,
        tenant: str,
        env: str,
        space: BlobSpace,
        sealer: Sealer,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> None:
        """``space`` must be this tenant environment's object space; ``max_bytes`` caps one
        object's plaintext; ``quota`` is the tenant's storage quota."""
        if max_bytes <= 0:
            raise ValueError(f"a object size cap is a positive number of bytes, not {max_bytes}")
        self._space = space
        self._records = Records(ids.tenant_id(tenant), ids.env_id(env), sealer)
        self._max_bytes = max_bytes
        self._read_limit = max(max_bytes, READ_FLOOR) + SEAL_OVERHEAD
        self._quota = quota

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        precondition: Precondition | None = None,
    ) -> Written:
        """Store ``data`` of ``content_type`` (``application/octet-stream`` when None) at
        ``key``, replacing what was there if ``precondition`` holds for it. Nothing is written
        if refused: a bad key or type, too large, over the tenant's quota, or
        :class:`PreconditionFailed`."""
        _check(key)
        record = Record(media.checked(content_type), bytes(data))
        if len(record.data) > self._max_bytes:
            raise ObjectTooLarge(
                f"object {ids.show(key)} is {len(record.data)} bytes; "
                f"this tenant's limit is {self._max_bytes} bytes",
                details={"size": len(record.data), "limit": self._max_bytes},
            )
        sealed = self._records.seal(key, record)
        etag = await retry_conflicts(lambda: self._replace(key, sealed, precondition))
        return Written(len(record.data), record.content_type, etag)

    async def _replace(self, key: str, sealed: bytes, precondition: Precondition | None) -> str:
        current = await self._current(key)
        self._require(key, current, precondition)
        old = None if current is None else current.size
        async with stored(self._quota, Stored.OBJECTS, old=old, new=len(sealed)):
            if current is None:
                version = await self._space.put(key, sealed, if_absent=True)
            else:
                version = await self._space.put(key, sealed, if_match=current.version)
        return self._records.etag(key, version)

    async def get(self, key: str) -> StoredObject:
        """The object's bytes, type and ETag; :class:`ObjectNotFound` when there is none."""
        _check(key)
        try:
            blob = await self._space.get(key, max_bytes=self._read_limit)
        except BlobNotFound as error:
            raise ObjectNotFound(f"no object {ids.show(key)}") from error
        except BlobTooLarge as error:
            raise StoredObjectTooLarge(f"stored object {ids.show(key)} is too large") from error
        record = self._records.open(key, blob.data, bare_type=media.OCTETS)
        return StoredObject(record.data, record.content_type, self._records.etag(key, blob.version))

    async def delete(self, key: str, *, precondition: Precondition | None = None) -> bool:
        """Remove the object and give its room back, if ``precondition`` holds for it
        (:class:`PreconditionFailed` otherwise); False when there was none."""
        _check(key)
        return await retry_conflicts(lambda: self._delete(key, precondition))

    async def _delete(self, key: str, precondition: Precondition | None) -> bool:
        current = await self._current(key)
        if current is None:
            return False  # absent whatever was required: not found, like without a condition
        self._require(key, current, precondition)
        if not await self._space.delete(key, if_match=current.version):
            return False  # removed meanwhile: that delete gave the room back
        await self._quota.release(Stored.OBJECTS, current.size)
        return True

    async def clear(self) -> int:
        """Remove every object of this environment (platform keys stay) and give the room back
        at once; the count. For lifecycle jobs: nothing else may write meanwhile."""
        removed, freed, after = 0, 0, None
        while True:
            page = await self._space.list(after=after, limit=MAX_PAGE)
            for key in page:
                current = None if _reserved(key) else await self._current(key)
                if current is not None and await self._space.delete(key):
                    removed, freed = removed + 1, freed + current.size
            if len(page) < MAX_PAGE:
                break
            after = page[-1]
        if removed:
            await self._quota.release(Stored.OBJECTS, freed, removed)
        return removed

    async def _current(self, key: str) -> BlobStat | None:
        try:
            return await self._space.stat(key)
        except BlobNotFound:
            return None

    def _require(
        self, key: str, current: BlobStat | None, precondition: Precondition | None
    ) -> None:
        if precondition is None:
            return
        etag = None if current is None else self._records.etag(key, current.version)
        if not precondition(etag):
            now = "there is none" if etag is None else f'it is at ETag "{etag}"'
            raise PreconditionFailed(
                f"object {ids.show(key)} is not as the request requires ({now})"
            )

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 100
    ) -> Page[str]:
        """Keys that start with ``prefix``, sorted; pass ``next_cursor`` back as ``after``.

        A page may hold fewer than ``limit`` keys while ``next_cursor`` is set (platform keys
        are left out of it); the listing ends when ``next_cursor`` is None.
        """
        if prefix:
            _check(prefix.removesuffix("/"))
        if after is not None:
            self._cursor(after)
        raw = await self._space.list(prefix, after=after, limit=limit)
        keys = tuple(key for key in raw if not _reserved(key))
        return Page(keys, raw[-1] if len(raw) == limit else None)

    @staticmethod
    def _cursor(after: str) -> None:
        try:
            names.check_relative_key(after)
        except InvalidInput as error:
            raise CursorInvalid(f"object list cursor {ids.show(after)} is malformed") from error

    async def rewrap(self, *, after: str | None = None, limit: int | None = None) -> RewrapReport:
        """Wrap the data key of every object with the tenant's active key; content and media
        type stay, ETags change (each is its blob's version). Objects already on the key are
        skipped, so a run may stop anywhere and run again: ``limit`` listed keys at most, then
        go on from ``next_cursor`` (a :meth:`list` cursor)."""
        if after is not None:
            self._cursor(after)
        walk = Walk(self._space, "", _listed, self._read_limit, self._quota, Stored.OBJECTS)
        kid = self._records.active_kid()
        return await rewrap_space(walk, self._records.rewrap, kid=kid, after=after, limit=limit)


def _listed(key: str) -> bool:
    return not _reserved(key)


def _check(key: object) -> str:
    try:
        names.check_relative_key(key)
    except InvalidInput as error:
        raise ObjectKeyInvalid(error.message) from error
    if _reserved(str(key)):
        raise ObjectKeyInvalid(f"object key {ids.show(key)} is reserved for the platform")
    return str(key)


def _reserved(key: str) -> bool:
    return key.startswith(RESERVED)
