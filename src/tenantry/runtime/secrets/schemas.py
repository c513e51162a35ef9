"""What the secret stores hand out: addresses, metadata, and values behind :class:`SecretValue`.

Nothing here but :class:`Secret` carries a value, and its ``repr`` masks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tenantry.core import ids
from tenantry.runtime.secrets.values import SecretValue


@dataclass(frozen=True, slots=True)
class SecretAddress:
    """Where one secret lives. Built only by the stores, from ``names.secret_path``."""

    tenant: ids.TenantId | None  # None: the platform's global namespace
    team: ids.TeamId | None
    name: ids.SecretName
    path: str


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed value and the id of the key that wraps its data key."""

    data: bytes
    kid: str


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """Metadata of one immutable secret version; ``updated_at`` moves when it is re-wrapped."""

    path: str
    name: ids.SecretName
    team: ids.TeamId | None
    version: int
    kid: str
    size: int  # plaintext bytes
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """Metadata of one secret (all its versions); never its value."""

    path: str
    name: ids.SecretName
    team: ids.TeamId | None
    latest: int  # the version ``get`` returns by default
    versions: tuple[int, ...]
    kid: str  # the key wrapping the latest version
    kids: tuple[str, ...]  # every key some version still needs, sorted
    created_at: datetime  # of the oldest version kept
    updated_at: datetime  # of the latest version


@dataclass(frozen=True, slots=True)
class Secret:
    """One version's value and where it came from (a team lookup may answer from its tenant)."""

    path: str
    name: ids.SecretName
    team: ids.TeamId | None
    version: int
    kid: str
    created_at: datetime
    value: SecretValue


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A version as the records port returns it: metadata and the sealed bytes."""

    info: VersionInfo
    sealed: bytes


@dataclass(frozen=True, slots=True)
class Removed:
    """What a delete or a prune removed: how many versions, and their sealed bytes."""

    versions: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Rewrapped:
    """A version whose data key is wrapped again, replacing the one wrapped by ``old_kid``."""

    path: str
    version: int
    old_kid: str
    sealed: Sealed


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What a rotation or re-wrap did: the active key, versions moved to it, and versions that
    could not be opened (tampered or already unreadable) and so still need their old key."""

    kid: str
    rewrapped: int
    failed: tuple[str, ...] = ()  # "path#version"


def summarise(versions: list[VersionInfo]) -> list[SecretInfo]:
    """One :class:`SecretInfo` per path, from version metadata (any order), sorted by path."""
    by_path: dict[str, list[VersionInfo]] = {}
    for info in versions:
        by_path.setdefault(info.path, []).append(info)
    return [_summary(sorted(group, key=_number)) for _, group in sorted(by_path.items())]


def _number(info: VersionInfo) -> int:
    return info.version


def _summary(group: list[VersionInfo]) -> SecretInfo:
    first, last = group[0], group[-1]
    return SecretInfo(
        path=last.path,
        name=last.name,
        team=last.team,
        latest=last.version,
        versions=tuple(info.version for info in group),
        kid=last.kid,
        kids=tuple(sorted({info.kid for info in group})),
        created_at=first.created_at,
        updated_at=last.created_at,
    )
