"""Objects of one tenant environment, sealed per tenant, in its own blob space.

The space handed in is the tenant environment's (its shared-bucket prefix or its own bucket or
directory), so keys are relative to it and can only name things inside: ``..``, ``.``, empty
segments, a leading ``/``, backslashes and control characters (NUL included) are refused by
``names.check_relative_key``. Each object is ``Sealer.seal(Binding(tenant, env, "object",
key), data)``, so bytes copied from another tenant's space (or another key) do not open.
Keys whose first segment starts with ``.tenantry`` belong to the platform (the shared-prefix
owner marker) and are neither readable, writable nor listed.

Every object counts against the tenant's object quota at its sealed size. A write reads the
size and version of what it replaces (one ``stat``), counts the difference, and writes only over
that version; a delete does the same before it gives the room back. A concurrent writer of the
same key makes the loser count and write again, so the last writer wins and the counters match
what is stored.
"""

from __future__ import annotations

from typing import Final

from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.blobs import (
    BlobNotFound,
    BlobSpace,
    BlobStat,
    BlobTooLarge,
    Page,
    retry_conflicts,
)
from tenantry.runtime.crypto import Binding, Sealer
from tenantry.runtime.objects.errors import (
    CursorInvalid,
    ObjectKeyInvalid,
    ObjectNotFound,
    ObjectTooLarge,
)
from tenantry.runtime.quota import UNLIMITED, StorageQuota, Stored, stored

DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024
READ_FLOOR: Final = 64 * 1024 * 1024  # stored objects up to this stay readable if a cap shrinks
SEAL_OVERHEAD: Final = 1024
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
        self._tenant = ids.tenant_id(tenant)
        self._env = ids.env_id(env)
        self._space = space
        self._sealer = sealer
        self._max_bytes = max_bytes
        self._read_limit = max(max_bytes, READ_FLOOR) + SEAL_OVERHEAD
        self._quota = quota

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key``, replacing what was there; nothing is written if refused
        (too large, or over the tenant's quota)."""
        _check(key)
        if len(data) > self._max_bytes:
            raise ObjectTooLarge(
                f"object {ids.show(key)} is {len(data)} bytes; "
                f"this tenant's limit is {self._max_bytes}"
            )
        sealed = self._sealer.seal(self._binding(key), bytes(data))
        await retry_conflicts(lambda: self._replace(key, sealed))

    async def _replace(self, key: str, sealed: bytes) -> None:
        current = await self._current(key)
        old = None if current is None else current.size
        async with stored(self._quota, Stored.OBJECTS, old=old, new=len(sealed)):
            if current is None:
                await self._space.put(key, sealed, if_absent=True)
            else:
                await self._space.put(key, sealed, if_match=current.version)

    async def get(self, key: str) -> bytes:
        """The object's bytes; :class:`ObjectNotFound` when there is none at ``key``."""
        _check(key)
        try:
            blob = await self._space.get(key, max_bytes=self._read_limit)
        except BlobNotFound as error:
            raise ObjectNotFound(f"no object {ids.show(key)}") from error
        except BlobTooLarge as error:
            raise ObjectTooLarge(f"stored object {ids.show(key)} is too large") from error
        return self._sealer.open(self._binding(key), blob.data)

    async def delete(self, key: str) -> bool:
        """Remove the object and give its room back; False when there was none."""
        _check(key)
        return await retry_conflicts(lambda: self._delete(key))

    async def _delete(self, key: str) -> bool:
        current = await self._current(key)
        if current is None:
            return False
        if not await self._space.delete(key, if_match=current.version):
            return False  # removed meanwhile: that delete gave the room back
        await self._quota.release(Stored.OBJECTS, current.size)
        return True

    async def _current(self, key: str) -> BlobStat | None:
        try:
            return await self._space.stat(key)
        except BlobNotFound:
            return None

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
            try:
                names.check_relative_key(after)
            except InvalidInput as error:
                raise CursorInvalid(f"object list cursor {ids.show(after)} is malformed") from error
        raw = await self._space.list(prefix, after=after, limit=limit)
        keys = tuple(key for key in raw if not _reserved(key))
        return Page(keys, raw[-1] if len(raw) == limit else None)

    def _binding(self, key: str) -> Binding:
        return Binding(self._tenant, self._env, "object", key)


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
