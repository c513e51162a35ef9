"""A local keyring: one JSON file per tenant holding its key-encryption keys, mode 0600.

A key is created once and never regenerated: the file is written in full to a temporary name
and then hard-linked into place, which fails if the key exists, so two processes (or a process
restarted after a crash) can never replace a tenant's key. Deleting the file crypto-shreds the
tenant (the lifecycle issue uses that).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from pathlib import Path

from tenantry.core import clock, names
from tenantry.core.errors import NotFound
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement

KEY_BYTES = 32  # AES-256


class KeyNotFound(NotFound):
    code = "key.not_found"


class Keyring:
    def __init__(self, root: Path) -> None:
        self._root = root

    def path(self, tenant: str) -> Path:
        return self._root / names.key_file(tenant)

    def exists(self, tenant: str) -> bool:
        return self.path(tenant).is_file()

    def create(self, tenant: str) -> bool:
        """Create the tenant's key unless it exists; True when this call created it."""
        target = self.path(tenant)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(_new_document(tenant), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, target)
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def key(self, tenant: str) -> tuple[str, bytes]:
        """The tenant's active key id and key."""
        try:
            document = json.loads(self.path(tenant).read_text())
        except FileNotFoundError as error:
            raise KeyNotFound(f"tenant {tenant!r} has no key") from error
        active = document["versions"][-1]
        return active["kid"], base64.b64decode(active["key"])

    def destroy(self, tenant: str) -> None:
        self.path(tenant).unlink(missing_ok=True)

    def tenants(self) -> list[str]:
        folder = self._root / "keys"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def _new_document(tenant: str) -> dict[str, object]:
    return {
        "tenant_id": tenant,
        "versions": [
            {
                "kid": uuid.uuid4().hex,
                "created_at": clock.utc_now().isoformat(),
                "key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
            }
        ],
    }


class KeyProvisioner:
    """Provisions each tenant's key-encryption key in the local keyring."""

    kind = Kind.KEY

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def wanted(self, placement: Placement) -> Resource:
        return Resource(Kind.KEY, placement.key_ref, placement.tenant_id, None, "keyring")

    async def exists(self, resource: Resource) -> bool:
        return self._keyring.exists(resource.name)

    async def ensure(self, resource: Resource) -> None:
        self._keyring.create(resource.name)

    async def retire(self, resource: Resource) -> None:
        self._keyring.destroy(resource.name)
