"""The backend-neutral core shared by tenant and platform secrets: seal, store, open, re-wrap.

A :class:`Vault` serves one owner (a tenant, or the platform) and never builds a path: the
stores hand it :class:`SecretAddress` values they built with ``core.names``. Every version is
sealed with ``Binding(tenant, ENV_MARKER, "secret", f"{path}#{version}")``, so a sealed value
copied to another tenant, another secret or another version of the same secret fails to open.

Every version counts against the owner's secrets quota at its sealed size (versions are
immutable, so each new one is a new item); a delete or a prune gives back exactly what it
removed. Re-wrapping keeps every size (key ids all have the keyring's one length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tenantry.core.clock import Clock
from tenantry.core.logging import get_logger
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable, key_id, sealed_size
from tenantry.runtime.quota import UNLIMITED, StorageQuota, Stored
from tenantry.runtime.secrets.errors import (
    SecretKeyInUse,
    SecretKeyNotFound,
    SecretNotFound,
    SecretTooLarge,
    SecretValueInvalid,
    SecretVersionInvalid,
)
from tenantry.runtime.secrets.ports import KeyManager, SecretRecords
from tenantry.runtime.secrets.schemas import (
    Removed,
    Rewrapped,
    RotationReport,
    Sealed,
    Secret,
    SecretAddress,
    SecretInfo,
    StoredVersion,
    VersionInfo,
    summarise,
)
from tenantry.runtime.secrets.values import SecretValue

ENV_MARKER: Final = "*"
"""The env of every secret binding: secrets belong to a tenant, not to one of its
environments, and ``*`` can never be an environment id."""

MAX_VALUE_BYTES: Final = 64 * 1024
_PURPOSE: Final = "secret"
_REWRAP_BATCH: Final = 100
_log = get_logger(__name__)


class _OwnerKeys:
    """The owner's keys whatever tenant a binding names (the platform binds ``global``, which
    the keyring refuses as a tenant id, and keeps its key under its own owner name)."""

    def __init__(self, keys: KeyManager, owner: str) -> None:
        self._keys, self._owner = keys, owner

    def active(self, tenant: str) -> tuple[str, bytes]:
        return self._keys.active(self._owner)

    def key(self, tenant: str, kid: str) -> bytes:
        return self._keys.key(self._owner, kid)


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose secrets a vault holds: the records' owner, the key's owner, the binding's tenant."""

    records: str | None
    keys: str
    binding: str


class Vault:
    def __init__(
        self,
        owner: Owner,
        *,
        records: SecretRecords,
        keys: KeyManager,
        clock: Clock,
        max_size: int = MAX_VALUE_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> None:
        self._owner, self._records, self._keys = owner, records, keys
        self._sealer = Sealer(_OwnerKeys(keys, owner.keys))
        self._clock, self._max_size, self._quota = clock, max_size, quota

    def _binding(self, path: str, version: int) -> Binding:
        return Binding(self._owner.binding, ENV_MARKER, _PURPOSE, f"{path}#{version}")

    async def put(self, address: SecretAddress, value: object) -> VersionInfo:
        data = _plaintext(value, self._max_size)

        def seal(version: int) -> Sealed:
            sealed = self._sealer.seal(self._binding(address.path, version), data)
            return Sealed(sealed, key_id(sealed))

        kid, _ = self._keys.active(self._owner.keys)
        async with self._quota.reserve(Stored.SECRETS, sealed_size(len(data), kid)):
            info = await self._records.append(address, seal, size=len(data), now=self._clock())
        _log.info("secret.put", path=info.path, version=info.version, kid=info.kid)
        return info

    async def export(self) -> list[StoredVersion]:
        """Every version the owner has, sealed as stored."""
        return await self._records.everything(self._owner.records)

    async def restore(self, versions: Sequence[StoredVersion]) -> int:
        """Bring back the versions the owner lacks, as they were (each must open with the
        owner's key where it was); how many came back."""
        present = {(s.info.path, s.info.version) for s in await self.export()}
        missing = [s for s in versions if (s.info.path, s.info.version) not in present]
        for stored in missing:
            self._sealer.open(self._binding(stored.info.path, stored.info.version), stored.sealed)
        if not missing:
            return 0
        size = sum(len(s.sealed) for s in missing)
        async with self._quota.reserve(Stored.SECRETS, size, len(missing)):
            return await self._records.restore(self._owner.records, missing)

    async def get(
        self, address: SecretAddress, *, version: object = None, fallback: SecretAddress | None
    ) -> Secret:
        """A version of ``address``; of ``fallback`` when ``address`` has no versions at all."""
        number = _version(version)
        stored = await self._find(address, number, fallback)
        info = stored.info
        value = self._sealer.open(self._binding(info.path, info.version), stored.sealed)
        return Secret(
            path=info.path,
            name=info.name,
            team=info.team,
            version=info.version,
            kid=info.kid,
            created_at=info.created_at,
            value=SecretValue(value),
        )

    async def _find(
        self, address: SecretAddress, number: int | None, fallback: SecretAddress | None
    ) -> StoredVersion:
        owner = self._owner.records
        stored = await self._records.read(owner, address.path, number)
        if stored is not None:
            return stored
        # Fall back only when the team has no such secret at all, not a missing version of it.
        if fallback is not None and (
            number is None or not await self._records.exists(owner, address.path)
        ):
            return await self._find(fallback, number, None)
        raise _not_found(address, number)

    async def secrets(self, *, team: str | None) -> list[SecretInfo]:
        return summarise(await self._records.versions(self._owner.records, team=team))

    async def versions(self, address: SecretAddress) -> list[VersionInfo]:
        found = await self._records.versions(
            self._owner.records, team=address.team, path=address.path
        )
        if not found:
            raise _not_found(address, None)
        return found

    async def delete(self, address: SecretAddress) -> int:
        removed = await self._records.delete(self._owner.records, address.path)
        if not removed.versions:
            raise _not_found(address, None)
        await self._give_back(removed)
        _log.info("secret.deleted", path=address.path, versions=removed.versions)
        return removed.versions

    async def prune(self, address: SecretAddress, *, keep: object) -> int:
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise SecretVersionInvalid("keep must be a whole number of versions, at least 1")
        if not await self._records.exists(self._owner.records, address.path):
            raise _not_found(address, None)
        removed = await self._records.prune(self._owner.records, address.path, keep=keep)
        await self._give_back(removed)
        _log.info("secret.pruned", path=address.path, versions=removed.versions)
        return removed.versions

    async def _give_back(self, removed: Removed) -> None:
        if removed.versions:
            await self._quota.release(Stored.SECRETS, removed.bytes, removed.versions)

    async def rotate_key(self) -> RotationReport:
        kid = self._keys.rotate(self._owner.keys)
        _log.info("secret.key_rotated", owner=self._owner.binding, kid=kid)
        return await self.rewrap()

    async def rewrap(self) -> RotationReport:
        """Wrap every version's data key with the active key; payloads stay as they are."""
        kid, _ = self._keys.active(self._owner.keys)
        stale = await self._records.stale(self._owner.records, kid=kid)
        done, failed = 0, list[str]()
        for start in range(0, len(stale), _REWRAP_BATCH):
            chunk = stale[start : start + _REWRAP_BATCH]
            stored = await self._records.sealed(self._owner.records, chunk)
            changes, refused = self._rewrapped(stored)
            failed += refused
            done += await self._records.replace_wraps(
                self._owner.records, changes, now=self._clock()
            )
        _log.info("secret.rewrapped", owner=self._owner.binding, kid=kid, versions=done)
        return RotationReport(kid, done, tuple(failed))

    def _rewrapped(self, stored: Sequence[StoredVersion]) -> tuple[list[Rewrapped], list[str]]:
        changes: list[Rewrapped] = []
        refused: list[str] = []
        for item in stored:
            info = item.info
            try:
                sealed = self._sealer.rewrap(self._binding(info.path, info.version), item.sealed)
            except Undecryptable:
                refused.append(f"{info.path}#{info.version}")
                _log.warning("secret.rewrap_refused", path=info.path, version=info.version)
                continue
            changes.append(
                Rewrapped(info.path, info.version, info.kid, Sealed(sealed, key_id(sealed)))
            )
        return changes, refused

    async def retire_key(self, kid: object) -> None:
        """Forget an old key version, refused while any secret version still needs it."""
        if not isinstance(kid, str) or kid not in self._keys.kids(self._owner.keys):
            raise SecretKeyNotFound(f"{self._owner.binding!r} has no key version {kid!r}")
        used = (await self.key_usage()).get(kid, 0)
        if used:
            raise SecretKeyInUse(
                f"key {kid!r} still wraps {used} secret version(s); rotate or re-wrap first",
                details={"kid": kid, "versions": used},
            )
        self._keys.retire(self._owner.keys, kid)
        _log.info("secret.key_retired", owner=self._owner.binding, kid=kid)

    async def key_usage(self) -> dict[str, int]:
        return await self._records.key_usage(self._owner.records)


def _plaintext(value: object, limit: int) -> bytes:
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            # ``from None``: the encode error would quote the offending character.
            raise SecretValueInvalid("a secret text value must be valid Unicode") from None
    elif isinstance(value, bytes):
        data = bytes(value)
    else:
        raise SecretValueInvalid(f"a secret value is bytes or str, not {type(value).__name__}")
    if len(data) > limit:
        raise SecretTooLarge(
            f"a secret value is at most {limit} bytes; this one is {len(data)}",
            details={"limit": limit, "size": len(data)},
        )
    return data


def _version(version: object) -> int | None:
    if version is None:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**31:
        raise SecretVersionInvalid("a secret version is a whole number from 1 to 2147483647")
    return version


def _not_found(address: SecretAddress, version: int | None) -> SecretNotFound:
    what = f"version {version} of secret" if version is not None else "secret"
    return SecretNotFound(f"{what} {address.path!r} not found", details={"path": address.path})
