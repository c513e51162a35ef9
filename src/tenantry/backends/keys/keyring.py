"""A local keyring: one JSON file per tenant holding its key-encryption keys, mode 0600.

Every change to a tenant's file is made under an exclusive lock on ``keys/{tenant}.lock``: the
whole document is written to a temporary name, fsynced, and linked (created) or renamed
(replaced) into place, then the directory is fsynced. A key is created once and never
regenerated. :meth:`Keyring.destroy` crypto-shreds a tenant (docs/runtime.md, "Crypto-shredding").
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tenantry.core import clock, files, names
from tenantry.core.errors import Conflict, NotFound
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement

KEY_BYTES = 32  # AES-256
_PSEUDONYM = "audit_pseudonym"  # the HMAC key of the tenant's pseudonymised user ids


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
        with self._locked(tenant):
            temporary = _written(target, _new_document(tenant))
            try:
                os.link(temporary, target)  # fails if the key exists: it is never replaced
            except FileExistsError:
                return False
            finally:
                temporary.unlink(missing_ok=True)
            files.sync_dir(target.parent)
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

    def created_at(self, tenant: str) -> datetime | None:
        """When the tenant's active key version was made (None: the tenant has no key); a
        policy's ``max_key_age`` is measured from it."""
        try:
            version = self._document(tenant)["versions"][-1]
        except KeyNotFound:
            return None
        return datetime.fromisoformat(version["created_at"])

    def kids(self, tenant: str) -> list[str]:
        """Key ids, oldest first; the last one is active."""
        return [v["kid"] for v in self._document(tenant)["versions"]]

    def pseudonym_key(self, tenant: str) -> bytes | None:
        """The tenant's audit pseudonym key, kept in its key file (so :meth:`destroy` shreds
        it with the rest) and added on first use; None when the tenant has no key file: a
        shredded tenant's key is never made again."""
        try:
            found = self._document(tenant).get(_PSEUDONYM)
        except KeyNotFound:
            return None
        if found is None:
            found = self._add_pseudonym_key(tenant)
        return None if found is None else base64.b64decode(found)

    def _add_pseudonym_key(self, tenant: str) -> str | None:
        with self._locked(tenant):
            try:
                document = self._read(tenant)
            except KeyNotFound:
                return None
            if _PSEUDONYM not in document:
                document[_PSEUDONYM] = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
                self._replace(tenant, document)
            return str(document[_PSEUDONYM])

    def rotate(self, tenant: str, *, replacing: str | None = None) -> str:
        """Add a new active key version and return its id; older ones stay readable until
        retired.

        With ``replacing``, a version is added only while that id is still the active one;
        otherwise the active id is returned as it is. A job that records the active id, then
        rotates away from it, makes one new version however often it is killed and run again.
        """
        with self._locked(tenant):
            document = self._read(tenant)
            versions = document["versions"]
            if replacing is None or versions[-1]["kid"] == replacing:
                versions.append(_new_version())
                self._replace(tenant, document)
        return str(versions[-1]["kid"])

    def retire(self, tenant: str, kid: str) -> bool:
        """Remove an old key version; data still wrapped by it no longer opens. False when the
        tenant has no such version (already retired: a re-run changes nothing). The active
        version is refused (:class:`KeyInUse`); whether data still needs ``kid`` is the
        caller's to check (re-wrap first)."""
        with self._locked(tenant):
            document = self._read(tenant)
            versions = document["versions"]
            if versions[-1]["kid"] == kid:
                raise KeyInUse(f"key {kid!r} of tenant {tenant!r} is active; rotate first")
            kept = [v for v in versions if v["kid"] != kid]
            if len(kept) == len(versions):
                return False
            document["versions"] = kept
            self._replace(tenant, document)
        return True

    def destroy(self, tenant: str) -> bool:
        """Crypto-shred the tenant: remove every key version it has (its key file, and any
        temporary copy a crashed write left beside it), so nothing sealed with its keys opens
        on this machine again. Idempotent; True when there was a key file to remove."""
        target = self.path(tenant)
        with self._locked(tenant):
            try:
                target.unlink()
                removed = True
            except FileNotFoundError:
                removed = False
            _remove_leftovers(target)
            files.sync_dir(target.parent)
        # A process waiting for the lock meanwhile finds no key file once it holds it.
        _lock_path(target).unlink(missing_ok=True)
        self._cache.pop(tenant, None)
        return removed

    def tenants(self) -> list[str]:
        folder = self._root / "keys"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

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
        """Every change to a tenant's file holds this lock, so a temporary file found while
        holding it was left by a crashed writer."""
        target = self.path(tenant)
        files.private_dir(target.parent)
        descriptor = os.open(_lock_path(target), os.O_WRONLY | os.O_CREAT, files.FILE_MODE)
        with os.fdopen(descriptor, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _replace(self, tenant: str, document: dict[str, Any]) -> None:
        target = self.path(tenant)
        _written(target, document).replace(target)
        _remove_leftovers(target)  # a crashed writer's copy may hold a retired version
        files.sync_dir(target.parent)
        self._cache.pop(tenant, None)


def _lock_path(target: Path) -> Path:
    return target.with_suffix(".lock")


def _written(target: Path, document: Mapping[str, object]) -> Path:
    """``document`` in a new 0600 file beside ``target``, fsynced; its path."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.FILE_MODE)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _remove_leftovers(target: Path) -> None:
    """Remove the temporary copies of ``target`` that writers killed mid-write left behind
    (call with the lock held). Tenant ids hold no glob characters."""
    for leftover in target.parent.glob(f".{target.name}.*"):
        leftover.unlink(missing_ok=True)


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
