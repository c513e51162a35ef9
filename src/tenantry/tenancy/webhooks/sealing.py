"""Signing secrets sealed at rest with their owner's key: a tenant's, or the platform's own
(in a keyring of its own, so no tenant id can name it).

The binding names the endpoint and version, so a sealed secret copied to another endpoint or
owner does not open; shredding a tenant's key leaves its endpoints' secrets unreadable.
"""

from __future__ import annotations

from typing import Final, Protocol

from tenantry.runtime.crypto import Binding, KeySource, Sealer
from tenantry.runtime.secrets import PLATFORM_KEY_OWNER

_ENV: Final = "control"
_PURPOSE: Final = "webhook-secret"


class Keys(KeySource, Protocol):
    def create(self, tenant: str) -> bool:
        """Create the owner's key unless it exists."""
        ...


class SecretSealer:
    def __init__(self, tenant_keys: KeySource, platform_keys: Keys) -> None:
        self._platform_keys = platform_keys
        self._tenants, self._platform = Sealer(tenant_keys), Sealer(platform_keys)

    def seal(self, tenant_id: str | None, endpoint_id: str, version: int, secret: str) -> bytes:
        if tenant_id is None:
            self._platform_keys.create(PLATFORM_KEY_OWNER)
        binding = _binding(tenant_id, endpoint_id, version)
        return self._of(tenant_id).seal(binding, secret.encode())

    def open(self, tenant_id: str | None, endpoint_id: str, version: int, sealed: bytes) -> str:
        binding = _binding(tenant_id, endpoint_id, version)
        return self._of(tenant_id).open(binding, sealed).decode()

    def _of(self, tenant_id: str | None) -> Sealer:
        return self._platform if tenant_id is None else self._tenants


def _binding(tenant_id: str | None, endpoint_id: str, version: int) -> Binding:
    owner = tenant_id if tenant_id is not None else PLATFORM_KEY_OWNER
    return Binding(owner, _ENV, _PURPOSE, f"{endpoint_id}/{version}")
