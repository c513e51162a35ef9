"""A local keyring: one JSON file per tenant holding its key-encryption keys, mode 0600.

A key is created once and never regenerated: the file is written in full to a temporary name
and then hard-linked into place, which fails if the key exists, so two processes (or a process
restarted after a crash) can never replace a tenant's key. Deleting the file crypto-shreds the
tenant (the lifecycle issue uses that).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenantry.core import clock, files, names
from tenantry.core.errors import Conflict, NotFound
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement

KEY_BYTES = 32  # AES-256


class KeyNotFound(NotFound):
    code = "key.not_found"


class KeyInUse(Conflict):
    code = "key.in_use"


class Keyring:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._cache: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def path(self, tenant: str) -> Path:
        return self._root / names.key_file(tenant)

    def exists(self, tenant: str) -> bool:
        return self.path(tenant).is_file()

    def create(self, tenant: str) -> bool:
        """Create the tenant's key unless it exists; True when this call created it."""
        target = self.path(tenant)
        files.private_dir(target.parent)
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

    def active(self, tenant: str) -> tuple[str, bytes]:
        """The tenant's active key id and key (the newest version)."""
        version = self._document(tenant)["versions"][-1]
        return version["kid"], base64.b64decode(version["key"])

    def key(self, tenant: str, kid: str) -> bytes:
        """A retained key version by id (for data sealed before a rotation)."""
        for version in self._document(tenant)["versions"]:
            if version["kid"] == kid:
                return base64.b64decode(version["key"])
        raise KeyNotFound(f"tenant {tenant!r} has no key {kid!r}")

    def kids(self, tenant: str) -> list[str]:
        """Key ids, oldest first; the last one is active."""
        return [v["kid"] for v in self._document(tenant)["versions"]]

    def rotate(self, tenant: str) -> str:
        """Add a new active key version; older ones stay readable until retired."""
        with self._locked(tenant):
            document = self._read(tenant)
            document["versions"].append(_new_version())
            self._replace(tenant, document)
        return str(document["versions"][-1]["kid"])

    def retire(self, tenant: str, kid: str) -> None:
        """Forget a key version; data still wrapped by it no longer opens."""
        with self._locked(tenant):
            document = self._read(tenant)
            if document["versions"][-1]["kid"] == kid:
                raise KeyInUse(f"key {kid!r} of tenant {tenant!r} is active; rotate first")
            document["versions"] = [v for v in document["versions"] if v["kid"] != kid]
            self._replace(tenant, document)

    def _document(self, tenant: str) -> dict[str, Any]:
        """The tenant's key file, cached until the file changes (a rotation elsewhere)."""
        path = self.path(tenant)
        try:
            stamp = path.stat()
        except FileNotFoundError as error:
            self._cache.pop(tenant, None)
            raise KeyNotFound(f"tenant {tenant!r} has no key") from error
        signature = (stamp.st_ino, stamp.st_mtime_ns, stamp.st_size)
        cached = self._cache.get(tenant)
        if cached is None or cached[0] != signature:
            cached = (signature, json.loads(path.read_text()))
            self._cache[tenant] = cached
        return cached[1]

    def _read(self, tenant: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path(tenant).read_text()))
        except FileNotFoundError as error:
            raise KeyNotFound(f"tenant {tenant!r} has no key") from error

    @contextmanager
    def _locked(self, tenant: str) -> Iterator[None]:
        lock = self.path(tenant).with_suffix(".lock")
        with open(lock, "a") as handle:  # noqa: PTH123 - flock needs the file object
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _replace(self, tenant: str, document: dict[str, Any]) -> None:
        target = self.path(tenant)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
        self._cache.pop(tenant, None)

    def destroy(self, tenant: str) -> None:
        self.path(tenant).unlink(missing_ok=True)
        self.path(tenant).with_suffix(".lock").unlink(missing_ok=True)
        self._cache.pop(tenant, None)

    def tenants(self) -> list[str]:
        folder = self._root / "keys"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def _new_document(tenant: str) -> dict[str, object]:
    return {"tenant_id": tenant, "versions": [_new_version()]}


def _new_version() -> dict[str, str]:
    return {
        "kid": uuid.uuid4().hex,
        "created_at": clock.utc_now().isoformat(),
        "key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
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

    async def close(self) -> None:
        """Nothing held between calls."""
