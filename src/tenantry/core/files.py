"""Owner-only files and directories for the embedded default's data (databases with API-key
digests, audit records and sealed secrets; state; objects; keys): files 0600, directories
0700, whatever the umask lets through."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700
SQLITE_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """``path`` as a directory, it and each missing parent made 0700. Directories that exist
    are left as they are: they may be the user's own (a home, ``/tmp``)."""
    missing: list[Path] = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            directory.mkdir(mode=DIR_MODE)
            directory.chmod(DIR_MODE)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path) -> Path:
    """``path`` as an owner-only file: made 0600 (empty) when absent, its directory with
    :func:`private_dir`; an existing one, and its SQLite side files, narrowed to 0600."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for side in ("", *SQLITE_SIDE_FILES):
        target = path.with_name(path.name + side)
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_mode & 0o077:
                target.chmod(FILE_MODE)
    return path


def sync_dir(path: Path) -> None:
    """Make the creations, renames and removals of names in the directory ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
