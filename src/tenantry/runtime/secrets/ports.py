"""The ports a secret store needs: its owner's keys, and somewhere to keep sealed versions.

``owner`` below is a tenant id, or None for the platform's ``global/`` namespace. Every records
method filters on it as well as on the path, so a confused caller still cannot cross owners.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from tenantry.runtime.crypto import KeySource
from tenantry.runtime.secrets.schemas import (
    Removed,
    Rewrapped,
    Sealed,
    SecretAddress,
    StoredVersion,
    VersionInfo,
)

SealVersion = Callable[[int], Sealed]
"""Seals the value for a version number (the number is bound into the ciphertext)."""


class KeyManager(KeySource, Protocol):
    """Key versions of an owner: the local keyring implements it."""

    def create(self, tenant: str) -> bool: ...

    def kids(self, tenant: str) -> list[str]:
        """Key ids, oldest first; the last is active."""
        ...

    def rotate(self, tenant: str) -> str:
        """Add a new active key version and return its id."""
        ...

    def retire(self, tenant: str, kid: str) -> bool:
        """Remove an old key version; False when there was none by that id."""
        ...


class SecretRecords(Protocol):
    """Sealed secret versions in the control database. Each method is one transaction."""

    async def append(
        self, address: SecretAddress, seal: SealVersion, *, size: int, now: datetime
    ) -> VersionInfo:
        """Store version ``newest + 1`` (1 for a new secret) sealed by ``seal(version)``;
        concurrent appends to one path are serialised, so no number is given twice."""
        ...

    async def read(self, owner: str | None, path: str, version: int | None) -> StoredVersion | None:
        """One version, or the newest when ``version`` is None."""
        ...

    async def exists(self, owner: str | None, path: str) -> bool: ...

    async def versions(
        self, owner: str | None, *, team: str | None, path: str | None = None
    ) -> list[VersionInfo]:
        """Metadata of every version in one scope (the owner's own or one team's), or of one
        path in it, ordered by path and version."""
        ...

    async def delete(self, owner: str | None, path: str) -> Removed:
        """Remove every version of a secret; what was removed."""
        ...

    async def prune(self, owner: str | None, path: str, *, keep: int) -> Removed:
        """Remove all but the ``keep`` newest versions; what was removed."""
        ...

    async def stale(self, owner: str | None, *, kid: str) -> list[tuple[str, int]]:
        """``(path, version)`` of every version wrapped by a key other than ``kid``."""
        ...

    async def sealed(
        self, owner: str | None, keys: Sequence[tuple[str, int]]
    ) -> list[StoredVersion]: ...

    async def replace_wraps(
        self, owner: str | None, changes: Sequence[Rewrapped], *, now: datetime
    ) -> int:
        """Store re-wrapped versions whose key is still ``old_kid``; how many were stored."""
        ...

    async def key_usage(self, owner: str | None) -> dict[str, int]:
        """How many versions each key id wraps."""
        ...

    async def everything(self, owner: str | None) -> list[StoredVersion]:
        """Every version of every secret of the owner (all its teams), sealed, by path and
        version: a lifecycle job's export."""
        ...

    async def restore(self, owner: str | None, versions: Sequence[StoredVersion]) -> int:
        """Insert these versions as they are (numbers, keys and times kept); how many."""
        ...
