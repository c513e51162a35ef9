"""Archive files on every blob backend: parts, sealing bound to tenant, archive and name, a
manifest that names every file, and every kind of damage reported by file name."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.backends.keys.keyring import Keyring
from tenantry.backends.s3.blobs import S3BlobSpace
from tenantry.core import names
from tenantry.runtime.crypto import Sealer, key_id
from tenantry.tenancy.lifecycle.archives import (
    ArchiveCorrupt,
    ArchiveNotFound,
    FileEntry,
    Manifest,
    Record,
    Shelf,
    archive_ids,
    frame,
    newest,
    unframe,
)
from tests.contract.runtime_blobs.conftest import Backend

FIRST = "20261206t010000z-00000001"
SECOND = "20261206t020000z-00000002"
_META = st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4)


@given(st.lists(st.tuples(_META, st.binary(max_size=64), st.booleans()), max_size=6))
def test_frames_round_trip(items: list[tuple[dict[str, object], bytes, bool]]) -> None:
    records = [Record(dict(meta), blob, header) for meta, blob, header in items]
    assert list(unframe(b"".join(frame(r) for r in records))) == records


async def _stream(count: int, size: int) -> AsyncIterator[Record]:
    yield Record({"table": "t"}, header=True)
    for n in range(count):
        yield Record({"n": n}, bytes([n % 256]) * size)


def _shelf(backend: Backend, sealer: Sealer, archive: str = FIRST, **options: int) -> Shelf:
    return Shelf(backend.space("archive"), sealer, "acme", archive, **options)


async def test_records_are_split_into_sealed_parts_and_read_back(
    backend: Backend, sealer: Sealer
) -> None:
    shelf = _shelf(backend, sealer, part_bytes=4096)
    entries, items = await shelf.write_parts("objects", "prod", _stream(10, 1000))
    assert items == 10 and [e.name for e in entries] == [
        "prod/objects/000001",
        "prod/objects/000002",
        "prod/objects/000003",
    ]
    read = [r for e in entries for r in await shelf.records(e)]
    assert read[0].header and [r.meta["n"] for r in read[1:]] == list(range(10))
    for entry in entries:
        stored = (await shelf.space.get(names.archive_key(FIRST, entry.name))).data
        assert (entry.size, entry.sha256) == (len(stored), hashlib.sha256(stored).hexdigest())
        assert b"\x05" * 100 not in stored  # sealed


async def test_writing_again_overwrites_and_drops_parts_beyond_the_last(
    backend: Backend, sealer: Sealer
) -> None:
    shelf = _shelf(backend, sealer, part_bytes=4096)
    await shelf.write_parts("objects", "prod", _stream(10, 1000))
    await shelf.write_parts("objects", "dev", _stream(1, 10))
    entries, _ = await shelf.write_parts("objects", "prod", _stream(2, 10))
    assert [e.name for e in entries] == ["prod/objects/000001"]
    assert await shelf.space.list(f"{FIRST}/") == [
        f"{FIRST}/dev/objects/000001",
        f"{FIRST}/prod/objects/000001",
    ]
    empty, items = await shelf.write_parts("state", "prod", _nothing())
    assert items == 0 and len(empty) == 1 and await shelf.records(empty[0]) == []


async def _nothing() -> AsyncIterator[Record]:
    return
    yield  # pragma: no cover - an empty async generator


async def test_damage_is_reported_by_file_name(backend: Backend, sealer: Sealer) -> None:
    shelf = _shelf(backend, sealer)
    (entry,), _ = await shelf.write_parts("objects", "prod", _stream(3, 100))
    key = names.archive_key(FIRST, entry.name)
    sealed = (await shelf.space.get(key)).data
    cases = {
        "does not match its SHA-256 in the manifest": sealed[:-1] + bytes([sealed[-1] ^ 1]),
        f"is {len(sealed) - 1} bytes, not {len(sealed)}": sealed[:-1],
    }
    for problem, damaged in cases.items():
        await shelf.space.put(key, damaged)
        with pytest.raises(ArchiveCorrupt) as caught:
            await shelf.records(entry)
        assert caught.value.message.endswith(f"file prod/objects/000001 {problem}")
    await shelf.space.delete(key)
    with pytest.raises(ArchiveCorrupt, match="is missing"):
        await shelf.records(entry)


async def test_a_file_moved_to_another_name_archive_or_tenant_does_not_open(
    backend: Backend, sealer: Sealer
) -> None:
    shelf = _shelf(backend, sealer)
    (entry,), _ = await shelf.write_parts("objects", "prod", _stream(3, 100))
    sealed = (await shelf.space.get(names.archive_key(FIRST, entry.name))).data
    moved = [
        (shelf, entry.model_copy(update={"name": "dev/objects/000001"})),
        (_shelf(backend, sealer, SECOND), entry),
        (Shelf(shelf.space, sealer, "bigcorp", FIRST), entry),
    ]
    for other, where in moved:
        await other.space.put(names.archive_key(other.archive_id, where.name), sealed)
        with pytest.raises(ArchiveCorrupt, match="does not decrypt with the tenant's key"):
            await other.records(where)


async def test_the_manifest_is_sealed_and_names_its_archive(
    backend: Backend, sealer: Sealer
) -> None:
    shelf = _shelf(backend, sealer)
    with pytest.raises(ArchiveNotFound):
        await shelf.manifest()
    made = Manifest(
        tenant_id="acme",
        archive_id=FIRST,
        created_at=datetime(2026, 12, 6, tzinfo=UTC),
        environments=["prod"],
        counts={"prod/objects": 3},
        files=[
            FileEntry(
                name="prod/objects/000001",
                kind="objects",
                env="prod",
                records=4,
                size=1,
                sha256="0",
            )
        ],
    )
    await shelf.put_manifest(made)
    assert await shelf.manifest() == made
    raw = (await shelf.space.get(names.archive_key(FIRST, "manifest.json"))).data
    assert b"prod/objects" not in raw
    await _shelf(backend, sealer, SECOND).put_manifest(made)  # says it is FIRST
    with pytest.raises(ArchiveCorrupt, match="names another archive"):
        await _shelf(backend, sealer, SECOND).manifest()


async def test_newest_is_the_latest_archive_with_a_manifest(
    backend: Backend, sealer: Sealer
) -> None:
    space = backend.space("archive")
    with pytest.raises(ArchiveNotFound):
        await newest(space, "acme")
    await _shelf(backend, sealer, FIRST).write("manifest.json", b"{}")
    await _shelf(backend, sealer, SECOND).write("prod/objects/000001", b"partial")
    assert await newest(space, "acme") == FIRST
    await _shelf(backend, sealer, SECOND).write("manifest.json", b"{}")
    assert await newest(space, "acme") == SECOND
    assert await _shelf(backend, sealer, SECOND).remove() == 2
    assert await newest(space, "acme") == FIRST


def test_archive_areas_are_under_archive_tenant(tmp_path: Path, backend: Backend) -> None:
    local = LocalBlobSpace.for_archive(tmp_path, "acme")
    assert local._root == (tmp_path / "archive" / "acme").resolve()
    if backend.client is not None:
        remote = S3BlobSpace.for_archive(backend.client, "acme", shared_bucket=backend.bucket)
        assert (remote._bucket, remote._prefix) == (backend.bucket, "archive/acme/")


async def test_rewrap_moves_every_file_to_the_active_key_and_keeps_the_archive_whole(
    backend: Backend, keyring: Keyring, sealer: Sealer
) -> None:
    shelf = _shelf(backend, sealer, part_bytes=4096)
    entries, _ = await shelf.write_parts("objects", "prod", _stream(10, 1000))
    made = Manifest(
        tenant_id="acme",
        archive_id=FIRST,
        created_at=datetime(2026, 12, 6, tzinfo=UTC),
        environments=["prod"],
        counts={"prod/objects": 10},
        files=entries,
    )
    await shelf.put_manifest(made)
    new_kid = keyring.rotate("acme")
    assert await shelf.rewrap() == 3
    assert await shelf.rewrap() == 3  # again: each file's seal proves it
    manifest = await shelf.manifest()
    assert [e.name for e in manifest.files] == [e.name for e in entries]
    for entry in manifest.files:
        stored = (await shelf.space.get(names.archive_key(FIRST, entry.name))).data
        assert key_id(stored) == new_kid and len(await shelf.records(entry)) == entry.records
    assert await archive_ids(shelf.space) == [FIRST]
