"""The local directory space: confinement under its root, symlinks refused, atomic writes, and
conditional writes that hold across processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tenantry.backends.fs import syscalls
from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.runtime.blobs import BlobConflict, BlobNotFound, UnsafePath


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside"
    target.mkdir()
    (target / "secret.cbor").write_bytes(b"not yours")
    return target


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _plant(root: Path, outside: Path) -> None:
    root.mkdir()
    (root / "top").symlink_to(outside)


def _exists(path: Path) -> bool:
    return path.exists()


async def test_a_symlinked_folder_is_never_followed(root: Path, outside: Path) -> None:
    space = LocalBlobSpace(root)
    await space.put("sessions/acme/keep.cbor", b"mine")
    (root / "sessions" / "bigcorp").symlink_to(outside, target_is_directory=True)
    before = _tree(outside)
    for call in (
        space.get("sessions/bigcorp/secret.cbor"),
        space.put("sessions/bigcorp/secret.cbor", b"overwrite"),
        space.put("sessions/bigcorp/new.cbor", b"plant"),
        space.delete("sessions/bigcorp/secret.cbor"),
        space.list("sessions/bigcorp/"),
        space.list("sessions/bigcorp/se"),
    ):
        with pytest.raises(UnsafePath, match="symlink") as caught:
            await call
        assert caught.value.code == "blob.unsafe_path"
        assert str(outside) not in caught.value.message  # no server path in errors
    assert _tree(outside) == before
    # A listing from above the link shows what is real and never descends into the link.
    assert await space.list("sessions/") == ["sessions/acme/keep.cbor"]


async def test_a_symlinked_file_is_neither_read_nor_replaced(root: Path, outside: Path) -> None:
    space = LocalBlobSpace(root)
    await space.put("d/real", b"real")
    link = root / "d" / "link"
    link.symlink_to(outside / "secret.cbor")
    for call in (
        space.get("d/link"),
        space.put("d/link", b"overwrite"),
        space.put("d/link", b"overwrite", if_absent=True),
        space.delete("d/link"),
    ):
        with pytest.raises(UnsafePath):
            await call
    assert link.is_symlink() and (outside / "secret.cbor").read_bytes() == b"not yours"
    assert await space.list("d/") == ["d/real"]


async def test_a_symlinked_root_child_and_a_fifo(root: Path, outside: Path) -> None:
    space = LocalBlobSpace(root)
    _plant(root, outside)
    with pytest.raises(UnsafePath):
        await space.put("top/x", b"x")
    os.mkfifo(root / "pipe")
    with pytest.raises(UnsafePath, match="not a regular file"):
        await space.get("pipe")  # refused at once, never blocks on the pipe
    with pytest.raises(UnsafePath):
        await space.put("pipe", b"x")
    assert _tree(outside) == {"secret.cbor": b"not yours"}


async def test_writes_are_atomic_and_private(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = LocalBlobSpace(root)
    await space.put("a/b", b"old")
    assert stat.S_IMODE((root / "a" / "b").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "a").stat().st_mode) == 0o700

    def broken(*_: object, **__: object) -> None:
        raise OSError("disk trouble")

    monkeypatch.setattr(os, "replace", broken)
    monkeypatch.setattr(syscalls, "exchange", broken)
    with pytest.raises(OSError, match="disk trouble"):
        await space.put("a/b", b"new")
    monkeypatch.undo()
    assert (await space.get("a/b")).data == b"old"
    assert sorted(p.name for p in (root / "a").iterdir()) == ["b"]  # the temporary file is gone


async def test_a_key_cannot_be_file_and_folder(root: Path) -> None:
    space = LocalBlobSpace(root)
    await space.put("a", b"file")
    with pytest.raises(BlobConflict):
        await space.put("a/b", b"child")
    await space.put("c/d", b"child")
    with pytest.raises(BlobConflict):
        await space.put("c", b"file")
    with pytest.raises(BlobNotFound):
        await space.get("a/b")
    with pytest.raises(BlobNotFound):
        await space.get("c")
    assert await space.delete("a/b") is False
    assert await space.list() == ["a", "c/d"]


async def test_an_absent_root_reads_as_empty(root: Path) -> None:
    space = LocalBlobSpace(root)
    assert await space.list() == []
    assert await space.delete("x") is False
    with pytest.raises(BlobNotFound):
        await space.get("x")
    assert not _exists(root)


async def test_without_fsync_and_in_threads(root: Path) -> None:
    space = LocalBlobSpace(root, durable=False, threads=True)
    version = await space.put("k", b"v")
    assert (await space.get("k")).version == version


@pytest.mark.parametrize("fast", [True, False], ids=["openat2+exchange", "portable"])
async def test_both_system_paths(
    root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    """With and without openat2 / renameat2 (old kernels, sandboxes, other systems)."""
    if not fast:
        monkeypatch.setattr(syscalls, "open_beneath", lambda *_: None)
        monkeypatch.setattr(syscalls, "exchange", lambda *_: False)
    space = LocalBlobSpace(root)
    first = await space.put("a/b/c", b"one")
    second = await space.put("a/b/c", b"two", if_match=first)
    assert (await space.get("a/b/c")).data == b"two"
    assert sorted(p.name for p in (root / "a" / "b").iterdir()) == ["c"]  # no old bytes left behind
    (root / "a" / "l").symlink_to(outside)
    with pytest.raises(UnsafePath):
        await space.get("a/l/secret.cbor")
    with pytest.raises(UnsafePath):
        await space.put("a/l/x", b"x")
    with pytest.raises(BlobNotFound):
        await space.get("a/b/missing")
    assert await space.delete("a/b/c", if_match=second) is True


def _contend(root: str, version: str, text: str, start: Any, results: Any) -> None:
    async def attempt() -> bool:
        space = LocalBlobSpace(Path(root))
        start.wait()  # every process is ready: the writes overlap
        try:
            await space.put("race/k", text.encode(), if_match=version)
        except BlobConflict:
            return False
        return True

    results.put(asyncio.run(attempt()))


async def test_processes_racing_on_one_version_have_one_winner(root: Path) -> None:
    space = LocalBlobSpace(root)
    context = multiprocessing.get_context("spawn")
    for turn in range(2):
        version = await space.put("race/k", f"start {turn}".encode())
        texts = [f"turn {turn} process {n}" for n in range(4)]
        start, results = context.Barrier(len(texts)), context.Queue()
        workers = [
            context.Process(target=_contend, args=(str(root), version, text, start, results))
            for text in texts
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        assert sum(outcomes) == 1
        assert (await space.get("race/k")).data.decode() in texts
