"""Two Linux calls Python 3.11 does not wrap, through libc, each with a portable fallback.

``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`` resolves a whole relative path below
a directory in one call, the kernel refusing any symlink or escape on the way (``ELOOP`` /
``EXDEV``). ``renameat2`` with ``RENAME_EXCHANGE`` swaps a new file into place atomically; the
old one is then unlinked. Replacing with a plain rename makes ext4 flush the new file's data
first (its ``auto_da_alloc`` rule for programs that skip fsync), which costs more than the whole
rest of a small write; the blob space fsyncs itself when asked to be durable.

Where the kernel, libc or a sandbox lacks a call, :data:`None` / ``False`` tells the caller to
take the portable path (a walk of ``O_NOFOLLOW`` opens; ``os.replace``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from typing import Final

_SYS_OPENAT2: Final = 437  # the same number on every Linux architecture (added in 5.6)
_RESOLVE: Final = 0x02 | 0x04 | 0x08  # NO_MAGICLINKS | NO_SYMLINKS | BENEATH
_RENAME_EXCHANGE: Final = 2
_UNSUPPORTED: Final = {errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.EOPNOTSUPP}


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_openat2_works = _libc is not None and hasattr(_libc, "syscall")
_exchange_works = _libc is not None and hasattr(_libc, "renameat2")
if _libc is not None and _openat2_works:
    _libc.syscall.restype = ctypes.c_long


def open_beneath(folder: int, path: str, flags: int) -> int | None:
    """A descriptor for ``path`` below ``folder`` with no symlink followed; None when the
    system cannot say (then walk instead). Raises ``OSError`` like ``os.open``."""
    global _openat2_works  # noqa: PLW0603 - learnt once per process
    if not _openat2_works or _libc is None:
        return None
    how = _OpenHow(flags | os.O_CLOEXEC, 0, _RESOLVE)
    descriptor = int(
        _libc.syscall(
            ctypes.c_long(_SYS_OPENAT2),
            ctypes.c_int(folder),
            ctypes.c_char_p(os.fsencode(path)),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
    )
    if descriptor >= 0:
        return descriptor
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EPERM}:  # an old kernel, or a sandbox that forbids it
        _openat2_works = False
        return None
    raise OSError(code, os.strerror(code), path)


def exchange(folder: int, new: str, old: str) -> bool:
    """Atomically swap the entries ``new`` and ``old`` of ``folder``; False if unsupported."""
    global _exchange_works  # noqa: PLW0603 - learnt once per process
    if not _exchange_works or _libc is None:
        return False
    names = (os.fsencode(new), os.fsencode(old))
    if _libc.renameat2(folder, names[0], folder, names[1], _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.ENOENT:  # ``old`` went away meanwhile: a plain rename will do
        return False
    if code in _UNSUPPORTED:  # a file system or sandbox without it: rename instead
        _exchange_works = code == errno.EINVAL  # EINVAL may be this file system only
        return False
    raise OSError(code, os.strerror(code), old)
