"""A tenant's archives: sealed files in its archive area, listed by a sealed ``manifest.json``.

Each resource kind exports a stream of :class:`Record` (a JSON header and optional bytes) that
is framed into parts of at most :data:`PART_BYTES`; every file (parts and manifest) is sealed
with the tenant's key, bound to the tenant, the archive and the file's name, so a file moved to
another name or archive does not open (``docs/lifecycle.md``, "Archive and restore").
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from tenantry.core import names
from tenantry.core.errors import Conflict, NotFound
from tenantry.runtime.blobs import MAX_PAGE, BlobNotFound, BlobSpace
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.scope import TenantScope

FORMAT: Final = "tenantry-archive/1"
MANIFEST: Final = "manifest.json"
PART_BYTES: Final = 32 * 1024 * 1024  # plaintext per part: memory, not format, bounds it
_ENV: Final = "*"  # an archive belongs to the tenant; ``*`` is never an environment id
_PURPOSE: Final = "archive"
_FRAME = struct.Struct(">IQ")  # header length, blob length


class ArchiveNotFound(NotFound):
    code = "archive.not_found"


class ArchiveCorrupt(Conflict):
    """An archive file that is missing, of the wrong size or hash, or does not open."""

    code = "archive.corrupt"


@dataclass(frozen=True, slots=True)
class Record:
    """One exported item: JSON-able ``meta`` and raw bytes (an object's content)."""

    meta: dict[str, Any]
    blob: bytes = b""
    header: bool = False  # describes what follows (a table), not counted as an item


def frame(record: Record) -> bytes:
    head = json.dumps({**record.meta, "$h": record.header} if record.header else record.meta)
    encoded = head.encode()
    return _FRAME.pack(len(encoded), len(record.blob)) + encoded + record.blob


def unframe(data: bytes) -> Iterator[Record]:
    view, at = memoryview(data), 0
    while at < len(data):
        head, size = _FRAME.unpack_from(view, at)
        at += _FRAME.size
        meta = json.loads(bytes(view[at : at + head]))
        at += head
        header = bool(meta.pop("$h", False))
        yield Record(meta, bytes(view[at : at + size]), header)
        at += size


class FileEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # relative to the archive: ``prod/objects/000001``
    kind: str
    env: str | None  # None: tenant-wide (secrets)
    records: int  # frames in the file
    size: int  # sealed bytes
    sha256: str  # of the sealed bytes


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str = FORMAT
    tenant_id: str
    archive_id: str
    created_at: datetime
    environments: list[str]
    counts: dict[str, int]  # items per ``{env}/{kind}`` (``{kind}`` when tenant-wide)
    files: list[FileEntry]


@dataclass(frozen=True, slots=True)
class Exportable:
    """A resource kind as archives see it (``tenancy.lifecycle.kinds``)."""

    name: str
    export: Callable[[TenantScope], AsyncIterator[Record]]
    restore: Callable[[TenantScope, AsyncIterator[Record]], Awaitable[int]]
    count: Callable[[TenantScope], Awaitable[int]]
    remove: Callable[[TenantScope], Awaitable[None]] | None = None  # None: goes with its space
    tenant_wide: bool = False  # exported once, not per environment


def count_key(kind: str, env: str | None) -> str:
    return kind if env is None else f"{env}/{kind}"


@dataclass(slots=True)
class Shelf:
    """One archive of one tenant, in the tenant's archive area."""

    space: BlobSpace
    sealer: Sealer
    tenant: str
    archive_id: str
    part_bytes: int = PART_BYTES

    def _binding(self, name: str) -> Binding:
        return Binding(self.tenant, _ENV, _PURPOSE, f"{self.archive_id}/{name}")

    def _key(self, name: str) -> str:
        return names.archive_key(self.archive_id, name)

    async def write(self, name: str, plain: bytes) -> tuple[int, str]:
        """Seal and store one file (over any earlier one); its sealed size and SHA-256."""
        sealed = self.sealer.seal(self._binding(name), plain)
        await self.space.put(self._key(name), sealed)
        return len(sealed), hashlib.sha256(sealed).hexdigest()

    async def write_parts(
        self, kind: str, env: str | None, records: AsyncIterator[Record]
    ) -> tuple[list[FileEntry], int]:
        """Frame ``records`` into sealed parts ``{env}/{kind}/{n:06d}``; the entries and the
        number of items. Parts an earlier run left beyond the last are removed."""
        base = count_key(kind, env)
        entries: list[FileEntry] = []
        buffer, frames, items = bytearray(), 0, 0

        async def flush() -> None:
            name = f"{base}/{len(entries) + 1:06d}"
            size, digest = await self.write(name, bytes(buffer))
            entries.append(
                FileEntry(name=name, kind=kind, env=env, records=frames, size=size, sha256=digest)
            )

        async for record in records:
            buffer += frame(record)
            frames, items = frames + 1, items + (0 if record.header else 1)
            if len(buffer) >= self.part_bytes:
                await flush()
                buffer.clear()
                frames = 0
        if buffer or not entries:
            await flush()
        await self._drop_beyond(base, {e.name for e in entries})
        return entries, items

    async def _drop_beyond(self, base: str, kept: set[str]) -> None:
        for key in await self._keys(f"{self.archive_id}/{base}/"):
            if names.parse_archive_key(key)[1] not in kept:
                await self.space.delete(key)

    async def read(self, entry: FileEntry) -> bytes:
        """The file's plaintext, once its size, hash and seal are checked."""
        try:
            sealed = (await self.space.get(self._key(entry.name))).data
        except BlobNotFound as error:
            raise self._corrupt(entry.name, "is missing") from error
        if len(sealed) != entry.size:
            raise self._corrupt(entry.name, f"is {len(sealed)} bytes, not {entry.size}")
        if hashlib.sha256(sealed).hexdigest() != entry.sha256:
            raise self._corrupt(entry.name, "does not match its SHA-256 in the manifest")
        return self._open(entry.name, sealed)

    async def records(self, entry: FileEntry) -> list[Record]:
        found = list(unframe(await self.read(entry)))
        if len(found) != entry.records:
            raise self._corrupt(entry.name, f"holds {len(found)} records, not {entry.records}")
        return found

    async def put_manifest(self, manifest: Manifest) -> None:
        await self.write(MANIFEST, manifest.model_dump_json().encode())

    async def manifest(self) -> Manifest:
        try:
            sealed = (await self.space.get(self._key(MANIFEST))).data
        except BlobNotFound as error:
            raise ArchiveNotFound(
                f"tenant {self.tenant!r} has no archive {self.archive_id!r}",
                details={"tenant_id": self.tenant, "archive_id": self.archive_id},
            ) from error
        found = Manifest.model_validate_json(self._open(MANIFEST, sealed))
        if (found.tenant_id, found.archive_id, found.format) != (
            self.tenant,
            self.archive_id,
            FORMAT,
        ):
            raise self._corrupt(MANIFEST, "names another archive or format")
        return found

    async def rewrap(self) -> int:
        """Wrap every file's data key with the tenant's active key (a key rotation) and write
        the manifest anew with the new sizes and hashes; the number of files. Running it again
        after an interruption is safe: each file's seal, not its old hash, proves it."""
        manifest, files = await self.manifest(), []
        for entry in manifest.files:
            try:
                sealed = (await self.space.get(self._key(entry.name))).data
                rewrapped = self.sealer.rewrap(self._binding(entry.name), sealed)
            except (BlobNotFound, Undecryptable) as error:
                raise self._corrupt(entry.name, "is missing or does not decrypt") from error
            await self.space.put(self._key(entry.name), rewrapped)
            digest = hashlib.sha256(rewrapped).hexdigest()
            files.append(entry.model_copy(update={"size": len(rewrapped), "sha256": digest}))
        await self.put_manifest(manifest.model_copy(update={"files": files}))
        return len(files)

    async def remove(self) -> int:
        """Delete every file of this archive; how many."""
        keys = await self._keys(f"{self.archive_id}/")
        for key in keys:
            await self.space.delete(key)
        return len(keys)

    async def _keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        while True:
            page = await self.space.list(prefix, after=found[-1] if found else None, limit=MAX_PAGE)
            found += page
            if len(page) < MAX_PAGE:
                return found

    def _open(self, name: str, sealed: bytes) -> bytes:
        try:
            return self.sealer.open(self._binding(name), sealed)
        except Undecryptable as error:
            raise self._corrupt(name, "does not decrypt with the tenant's key") from error

    def _corrupt(self, name: str, problem: str) -> ArchiveCorrupt:
        return ArchiveCorrupt(
            f"archive {self.archive_id} of tenant {self.tenant!r}: file {name} {problem}",
            details={"tenant_id": self.tenant, "archive_id": self.archive_id, "file": name},
        )


async def newest(space: BlobSpace, tenant: str) -> str:
    """The id of the tenant's newest archive that has a manifest."""
    found = await archive_ids(space)
    if not found:
        raise ArchiveNotFound(f"tenant {tenant!r} has no archive", details={"tenant_id": tenant})
    return found[-1]


async def archive_ids(space: BlobSpace) -> list[str]:
    """The ids of the archives in a tenant's area that have a manifest, oldest first."""
    found, after = set(), None
    while True:
        page = await space.list("", after=after, limit=MAX_PAGE)
        found |= {k.partition("/")[0] for k in page if k.partition("/")[2] == MANIFEST}
        if len(page) < MAX_PAGE:
            return sorted(names.check_archive_id(archive) for archive in found)
        after = page[-1]


async def rewrap_every(space: BlobSpace, sealer: Sealer, tenant: str) -> int:
    """Re-wrap every archive of the tenant (the rotate-keys job's step for archives); files."""
    total = 0
    for archive in await archive_ids(space):
        total += await Shelf(space, sealer, tenant, archive).rewrap()
    return total
