"""Secret stores: :class:`SecretStore` for one tenant, :class:`PlatformSecrets` for ``global/``.

Namespaces (DESIGN.md section 3): ``global/{name}`` (platform only), ``{tenant}/{name}`` and
``{tenant}/teams/{team}/{name}``. A tenant store builds every path from its own tenant id with
``core.names.secret_path``, so no name or team passed in reaches another tenant or ``global/``.
A team lookup (``get`` only) falls back to the tenant scope when the team has no such secret,
never further. ``team=None`` and ``team="default"`` both mean the tenant scope.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Final

from tenantry.core import ids, names
from tenantry.core.clock import Clock, utc_now
from tenantry.runtime.quota import UNLIMITED, StorageQuota
from tenantry.runtime.secrets.ports import KeyManager, SecretRecords
from tenantry.runtime.secrets.schemas import (
    RotationReport,
    Secret,
    SecretAddress,
    SecretInfo,
    StoredVersion,
    VersionInfo,
)
from tenantry.runtime.secrets.vault import MAX_VALUE_BYTES, Owner, Vault

PLATFORM_KEY_OWNER: Final = "platform"
"""The key name of the platform's ``global/`` secrets, in a keyring of its own (a tenant may
be called ``platform``; it must never share, or shred, the platform's key)."""

_GLOBAL: Final = "global"


def _team(team: str | None) -> ids.TeamId | None:
    return None if team is None or team == ids.DEFAULT_TEAM else ids.team_id(team)


class SecretStore:
    """The secrets of one tenant and its teams. Values go in as bytes or str and come out as
    :class:`~tenantry.runtime.secrets.values.SecretValue`; listings carry metadata only."""

    def __init__(
        self,
        tenant: str,
        *,
        records: SecretRecords,
        keys: KeyManager,
        clock: Clock = utc_now,
        max_size: int = MAX_VALUE_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> None:
        """``quota``: the tenant's storage quota, which every version counts against."""
        self._tenant = ids.tenant_id(tenant)
        owner = Owner(records=self._tenant, keys=self._tenant, binding=self._tenant)
        self._vault = Vault(
            owner, records=records, keys=keys, clock=clock, max_size=max_size, quota=quota
        )

    @property
    def tenant_id(self) -> ids.TenantId:
        return self._tenant

    def _address(self, name: str, team: str | None) -> SecretAddress:
        path = names.secret_path(name, tenant=self._tenant, team=_team(team))
        tenant, team_, secret = names.parse_secret_path(path)
        if tenant != self._tenant:  # unreachable: the builder takes our tenant id only
            raise AssertionError(f"secret path {path!r} is outside tenant {self._tenant!r}")
        return SecretAddress(tenant, team_, secret, path)

    async def put(self, name: str, value: bytes | str, *, team: str | None = None) -> VersionInfo:
        """Store a new immutable version (1 for a new secret) and return its metadata."""
        return await self._vault.put(self._address(name, team), value)

    async def get(
        self, name: str, *, team: str | None = None, version: int | None = None
    ) -> Secret:
        """The latest (or the given) version; a team without the secret asks its tenant."""
        address = self._address(name, team)
        fallback = self._address(name, None) if address.team is not None else None
        return await self._vault.get(address, version=version, fallback=fallback)

    async def list(self, *, team: str | None = None) -> builtins.list[SecretInfo]:
        """The secrets of the tenant scope, or of one team's scope: names and metadata only."""
        return await self._vault.secrets(team=_team(team))

    async def versions(self, name: str, *, team: str | None = None) -> builtins.list[VersionInfo]:
        return await self._vault.versions(self._address(name, team))

    async def delete(self, name: str, *, team: str | None = None) -> int:
        """Delete every version of one secret (no fallback); how many versions went."""
        return await self._vault.delete(self._address(name, team))

    async def prune(self, name: str, *, team: str | None = None, keep: int = 1) -> int:
        """Retire all but the ``keep`` newest versions; how many versions went."""
        return await self._vault.prune(self._address(name, team), keep=keep)

    async def export(self) -> builtins.list[StoredVersion]:
        """Every version of the tenant's and its teams' secrets, sealed as stored (archives)."""
        return await self._vault.export()

    async def restore(self, versions: Sequence[StoredVersion]) -> int:
        """Bring back archived versions the tenant lacks, sealed as they were; how many."""
        return await self._vault.restore(versions)

    async def rotate_key(self) -> RotationReport:
        """Rotate the tenant's key and re-wrap every secret version with the new one."""
        return await self._vault.rotate_key()

    async def rewrap(self) -> RotationReport:
        """Re-wrap the versions not yet on the active key (after an interrupted rotation)."""
        return await self._vault.rewrap()

    async def retire_key(self, kid: str) -> None:
        """Retire an old key version; refused while a secret version still needs it."""
        await self._vault.retire_key(kid)

    async def key_usage(self) -> dict[str, int]:
        """How many secret versions each of the tenant's key ids wraps."""
        return await self._vault.key_usage()


class PlatformSecrets:
    """The platform's ``global/`` secrets, for platform code only (never part of a tenant
    scope). Sealed with :data:`PLATFORM_KEY_OWNER`'s key in a keyring separate from tenants'."""

    def __init__(
        self,
        *,
        records: SecretRecords,
        keys: KeyManager,
        clock: Clock = utc_now,
        max_size: int = MAX_VALUE_BYTES,
    ) -> None:
        self._keys = keys
        owner = Owner(records=None, keys=PLATFORM_KEY_OWNER, binding=_GLOBAL)
        self._vault = Vault(owner, records=records, keys=keys, clock=clock, max_size=max_size)

    def ensure_key(self) -> bool:
        """Create the platform key unless it exists; True when this call created it."""
        return self._keys.create(PLATFORM_KEY_OWNER)

    @staticmethod
    def _address(name: str) -> SecretAddress:
        path = names.secret_path(name)
        tenant, team, secret = names.parse_secret_path(path)
        if tenant is not None or team is not None:  # unreachable: no tenant was given
            raise AssertionError(f"secret path {path!r} is not global")
        return SecretAddress(None, None, secret, path)

    async def put(self, name: str, value: bytes | str) -> VersionInfo:
        return await self._vault.put(self._address(name), value)

    async def get(self, name: str, *, version: int | None = None) -> Secret:
        return await self._vault.get(self._address(name), version=version, fallback=None)

    async def list(self) -> builtins.list[SecretInfo]:
        return await self._vault.secrets(team=None)

    async def versions(self, name: str) -> builtins.list[VersionInfo]:
        return await self._vault.versions(self._address(name))

    async def delete(self, name: str) -> int:
        return await self._vault.delete(self._address(name))

    async def prune(self, name: str, *, keep: int = 1) -> int:
        return await self._vault.prune(self._address(name), keep=keep)

    async def rotate_key(self) -> RotationReport:
        return await self._vault.rotate_key()

    async def rewrap(self) -> RotationReport:
        return await self._vault.rewrap()

    async def retire_key(self, kid: str) -> None:
        await self._vault.retire_key(kid)

    async def key_usage(self) -> dict[str, int]:
        return await self._vault.key_usage()
