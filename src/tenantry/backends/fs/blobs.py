"""A blob space in a local directory, confined under its root.

Every path is walked one component at a time from an open root descriptor with ``O_NOFOLLOW``
(``openat``), so a symlink anywhere below the root is refused (:class:`UnsafePath`) and nothing
is written through it; there is no string path to escape with. Writes go to a temporary file in
the target's directory, are fsynced (unless ``durable=False``) and renamed over the target, so a
reader sees the old bytes or the new ones, never a mix. Writers of one directory hold an
exclusive ``flock`` on that directory while they compare versions and rename, which makes
``if_match`` / ``if_absent`` safe across processes; readers take no lock. A version is a hash of
the content. Temporary names hold a backslash, which no key may contain, so they never clash
with keys and listings skip them.

Limitation: a key cannot be both a blob and the parent of other keys (``a`` and ``a/b``), as on
any file system; such a write is a :class:`BlobConflict`. Empty directories are left in place.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

from tenantry.backends.fs import syscalls
from tenantry.core import files, ids, names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.blobs import (
    Blob,
    BlobConflict,
    BlobNotFound,
    BlobStat,
    BlobTooLarge,
    UnsafePath,
    check_after,
    check_key,
    check_limit,
    check_prefix,
)
from tenantry.tenancy.isolation.placement import ObjectPlacement, Objects

T = TypeVar("T")
_ROOT: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_MARK: Final = "\\"  # forbidden in keys (check_relative_key), so never a key's name


class _Missing(Exception):
    """A directory on the way to a key does not exist (internal)."""


def version_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class LocalBlobSpace:
    def __init__(self, root: Path, *, durable: bool = True, threads: bool = False) -> None:
        """``root`` is trusted configuration; everything below it is not. ``threads``: run the
        blocking calls in worker threads instead of inline on the event loop."""
        self._root = Path(root).resolve()
        self._durable = durable
        self._threads = threads

    @classmethod
    def for_objects(cls, root: Path, objects: ObjectPlacement) -> LocalBlobSpace:
        """A tenant environment's object space, laid out as ``DirectoryObjectProvisioner`` does."""
        if objects.mode is Objects.DEDICATED_BUCKET and objects.bucket is not None:
            return cls(root / "buckets" / objects.bucket)
        if objects.mode is Objects.SHARED_PREFIX:
            return cls(root / "shared" / objects.prefix)
        raise ValueError(f"no local object space for placement mode {objects.mode}")

    @classmethod
    def for_archive(cls, root: Path, tenant: str) -> LocalBlobSpace:
        """A tenant's archive area: ``{root}/archive/{tenant}/`` beside the object spaces."""
        return cls(root.joinpath(*names.archive_prefix(tenant).split("/")[:-1]))

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work) if self._threads else work()

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        check_key(key)
        return await self._run(lambda: self._get(key, max_bytes))

    async def stat(self, key: str) -> BlobStat:
        # The version is a hash of the content, so the file is read (locally) all the same.
        blob = await self.get(key)
        return BlobStat(len(blob.data), blob.version)

    async def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False
    ) -> str:
        check_key(key)
        return await self._run(lambda: self._put(key, bytes(data), if_match, if_absent))

    async def delete(self, key: str, *, if_match: str | None = None) -> bool:
        check_key(key)
        return await self._run(lambda: self._delete(key, if_match))

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 100
    ) -> list[str]:
        check_prefix(prefix)
        check_after(after)
        check_limit(limit)
        return await self._run(lambda: self._list(prefix, after, limit))

    def _get(self, key: str, max_bytes: int | None) -> Blob:
        *folders, name = key.split("/")
        try:
            with self._folder(key, [], create=False) as root:
                descriptor = _beneath(root, key, _READ)
                if descriptor is not None:
                    return _read_open(descriptor, key, max_bytes)
            with self._folder(key, folders, create=False) as folder:
                return _read(folder, name, key, max_bytes)
        except _Missing as missing:
            raise BlobNotFound(f"no blob {ids.show(key)}") from missing

    def _put(self, key: str, data: bytes, if_match: str | None, if_absent: bool) -> str:
        *folders, name = key.split("/")
        with self._folder(key, folders, create=True) as folder:
            fcntl.flock(folder, fcntl.LOCK_EX)  # released when the descriptor closes
            current = _current(folder, name, key, with_version=if_match is not None)
            if if_absent and current is not None:
                raise BlobConflict(f"blob {ids.show(key)} already exists")
            if if_match is not None and current != if_match:
                raise BlobConflict(f"blob {ids.show(key)} changed since version {if_match}")
            self._replace(folder, name, data, exists=current is not None)
        return version_of(data)

    def _replace(self, folder: int, name: str, data: bytes, *, exists: bool) -> None:
        temporary = f".{_TEMP_MARK}{secrets.token_hex(8)}"
        descriptor = os.open(temporary, _CREATE, 0o600, dir_fd=folder)
        try:
            with os.fdopen(descriptor, "wb", buffering=0) as handle:
                handle.write(data)
                if self._durable:
                    os.fsync(handle.fileno())
            swapped = exists and syscalls.exchange(folder, temporary, name)
            if not swapped:
                os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            os.unlink(temporary, dir_fd=folder)
            raise
        if swapped:  # the temporary name now holds the old bytes
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)

    def _delete(self, key: str, if_match: str | None) -> bool:
        *folders, name = key.split("/")
        try:
            with self._folder(key, folders, create=False) as folder:
                fcntl.flock(folder, fcntl.LOCK_EX)
                current = _current(folder, name, key, with_version=if_match is not None)
                if current is None:
                    return False
                if if_match is not None and current != if_match:
                    raise BlobConflict(f"blob {ids.show(key)} changed since version {if_match}")
                os.unlink(name, dir_fd=folder)
                return True
        except _Missing:
            return False

    def _list(self, prefix: str, after: str | None, limit: int) -> builtins.list[str]:
        *folders, start = prefix.split("/")
        found: builtins.list[str] = []
        try:
            with self._folder(prefix, folders, create=False) as folder:
                base = "".join(f"{part}/" for part in folders)
                _walk(folder, base, start, after=after, limit=limit, found=found)
        except _Missing:
            pass
        return found

    @contextmanager
    def _folder(self, key: str, folders: builtins.list[str], *, create: bool) -> Iterator[int]:
        """The descriptor of a key's directory, reached without following any symlink: in one
        ``openat2`` call where the kernel has it, else (or to create or explain) a walk."""
        descriptor = self._open_root(create=create)
        try:
            fast = _beneath(descriptor, "/".join(folders), _DIR) if folders else None
            if fast is not None:
                os.close(descriptor)
                descriptor = fast
            for depth, part in enumerate(folders if fast is None else ()):
                child = _enter(descriptor, part, create=create, key=key, depth=depth)
                os.close(descriptor)
                descriptor = child
            yield descriptor
        finally:
            os.close(descriptor)

    def _open_root(self, *, create: bool) -> int:
        try:
            return os.open(self._root, _ROOT)
        except FileNotFoundError as error:
            if not create:
                raise _Missing from error
        files.private_dir(self._root)
        return os.open(self._root, _ROOT)


def _enter(parent: int, part: str, *, create: bool, key: str, depth: int) -> int:
    try:
        return os.open(part, _DIR, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise _Missing from None
    except OSError as error:
        raise _refused(parent, part, key, depth, error, create=create) from error
    with contextlib.suppress(FileExistsError):  # made by a concurrent writer
        os.mkdir(part, 0o700, dir_fd=parent)
    try:
        return os.open(part, _DIR, dir_fd=parent)
    except OSError as error:
        raise _refused(parent, part, key, depth, error, create=create) from error


def _refused(
    parent: int, part: str, key: str, depth: int, error: OSError, *, create: bool
) -> Exception:
    """Why a directory on the way to ``key`` could not be entered, as a Tenantry error."""
    where = ids.show("/".join(key.split("/")[: depth + 1]))
    if error.errno == errno.ENAMETOOLONG:
        return _key_error(key, "has a path segment longer than the file system allows")
    try:
        mode = os.stat(part, dir_fd=parent, follow_symlinks=False).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode) or error.errno == errno.ELOOP:
        return UnsafePath(f"refusing to follow the symlink at {where} (on the way to a blob)")
    if stat.S_ISREG(mode) and not create:
        return _Missing()
    if stat.S_ISREG(mode):
        return BlobConflict(f"{where} is a blob, so it cannot hold {ids.show(key)}")
    return UnsafePath(f"{where} is not a directory (on the way to {ids.show(key)})")


def _key_error(key: str, problem: str) -> Exception:
    return InvalidInput(f"object key {ids.show(key)} {problem}", code="object_key.invalid")


def _beneath(folder: int, path: str, flags: int) -> int | None:
    """The one-call path: a descriptor, or None when the walk must decide or explain."""
    try:
        return syscalls.open_beneath(folder, path, flags)
    except OSError:
        return None


def _read(folder: int, name: str, key: str, max_bytes: int | None) -> Blob:
    try:
        descriptor = os.open(name, _READ, dir_fd=folder)
    except FileNotFoundError as error:
        raise BlobNotFound(f"no blob {ids.show(key)}") from error
    except OSError as error:
        raise _refused_file(error, key) from error
    return _read_open(descriptor, key, max_bytes)


def _read_open(descriptor: int, key: str, max_bytes: int | None) -> Blob:
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise BlobNotFound(f"no blob {ids.show(key)}")
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"{ids.show(key)} is not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise BlobTooLarge(f"blob {ids.show(key)} is larger than {max_bytes} bytes")
        data = _read_all(descriptor, info.st_size, max_bytes)
    finally:
        os.close(descriptor)
    if data is None:  # it grew after fstat
        raise BlobTooLarge(f"blob {ids.show(key)} is larger than {max_bytes} bytes")
    return Blob(data, version_of(data))


def _read_all(descriptor: int, size: int, max_bytes: int | None) -> bytes | None:
    """The whole file, or None once it holds more than ``max_bytes``."""
    chunks, total = [], 0
    while chunk := os.read(descriptor, max(size - total, 0) + 1):
        chunks.append(chunk)
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            return None
    return b"".join(chunks)


def _refused_file(error: OSError, key: str) -> Exception:
    if error.errno == errno.ELOOP:
        return UnsafePath(f"refusing to follow the symlink at {ids.show(key)}")
    if error.errno == errno.ENAMETOOLONG:
        return _key_error(key, "has a path segment longer than the file system allows")
    return error


def _current(folder: int, name: str, key: str, *, with_version: bool) -> str | None:
    """The version at ``name`` ("" when not asked for), None when absent; refuse non-files."""
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _refused_file(error, key) from error
    if stat.S_ISLNK(mode):
        raise UnsafePath(f"refusing to replace the symlink at {ids.show(key)}")
    if stat.S_ISDIR(mode):
        raise BlobConflict(f"{ids.show(key)} holds other blobs, so it cannot be a blob")
    if not stat.S_ISREG(mode):
        raise UnsafePath(f"{ids.show(key)} is not a regular file")
    return _read(folder, name, key, None).version if with_version else ""


def _walk(
    folder: int, base: str, start: str, *, after: str | None, limit: int, found: list[str]
) -> None:
    """Append keys below ``folder`` in sorted order, skipping whole subtrees before ``after``.

    A directory ``d`` sorts as ``d/``: every key inside starts with it, and ``/`` cannot occur in
    a sibling's name, so sorting entries that way yields keys in plain string order.
    """
    for label, name, is_folder in _entries(folder, start):
        key = base + label
        if is_folder:
            if after is not None and key < after and not after.startswith(key):
                continue
            try:
                child = os.open(name, _DIR, dir_fd=folder)
            except OSError:
                continue  # replaced by a symlink or removed meanwhile: never followed
            try:
                _walk(child, key, "", after=after, limit=limit, found=found)
            finally:
                os.close(child)
        elif after is None or key > after:
            found.append(key)
        if len(found) >= limit:
            return


def _entries(folder: int, start: str) -> list[tuple[str, str, bool]]:
    entries = []
    with os.scandir(folder) as scan:
        for entry in scan:
            if not entry.name.startswith(start) or _TEMP_MARK in entry.name:
                continue
            if entry.is_dir(follow_symlinks=False):
                entries.append((entry.name + "/", entry.name, True))
            elif entry.is_file(follow_symlinks=False):
                entries.append((entry.name, entry.name, False))
    entries.sort()
    return entries
