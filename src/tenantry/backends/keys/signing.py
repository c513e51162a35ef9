"""The signing keyring: Ed25519 keys for access tokens, in one JSON file, mode 0600.

``{root}/signing/keyring.json`` holds ``versions`` oldest first, each ``{kid, created_at,
public}``; the newest also holds ``private`` and signs. The file is created once (written to a
temporary name, then hard-linked into place, which fails if another process got there first)
and replaced atomically on rotation, under an exclusive lock. A rotation drops the previous
private key (it never signs again) and keeps its public key, so tokens it signed verify until
the key is retired.

Verification is on every request, so the parsed public keys are cached in memory and reloaded
only when the file changes (another process rotated or retired): a ``stat`` per lookup.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tenantry.core import clock, files
from tenantry.tenancy.access.errors import SigningKeyInUse, SigningKeyNotFound
from tenantry.tenancy.access.signing import SigningKey

_FOLDER = "signing"
_FILE = "keyring.json"


@dataclass(frozen=True, slots=True)
class _Loaded:
    stamp: tuple[int, int, int]
    public: dict[str, Ed25519PublicKey]
    active: SigningKey


class SigningKeyring:
    """:class:`~tenantry.tenancy.access.signing.SigningKeys` on a local file."""

    def __init__(self, root: Path, *, folder: str = _FOLDER) -> None:
        self._path = root / folder / _FILE
        self._loaded: _Loaded | None = None

    @property
    def path(self) -> Path:
        return self._path

    def ensure(self) -> bool:
        """Create the keyring with its first key unless it exists; True when this call did."""
        files.private_dir(self._path.parent)
        temporary = self._temporary()
        try:
            _write(temporary, {"versions": [_new_version()]})
            os.link(temporary, self._path)
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def active(self) -> SigningKey:
        loaded = self._load()
        if loaded is None:
            self.ensure()
            loaded = self._load()
        if loaded is None:  # only if the file was deleted between the two calls
            raise SigningKeyNotFound("the signing keyring disappeared while it was created")
        return loaded.active

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        loaded = self._load()
        return None if loaded is None else loaded.public.get(kid)

    def kids(self) -> list[str]:
        loaded = self._load()
        return [] if loaded is None else list(loaded.public)

    def history(self) -> list[dict[str, str]]:
        """Every version's ``kid``, ``created_at`` and ``public`` (base64), oldest first."""
        self.ensure()
        fields = ("kid", "created_at", "public")
        return [{f: v[f] for f in fields} for v in self._read()["versions"]]

    def rotate(self) -> str:
        self.ensure()
        with self._locked():
            versions = self._read()["versions"]
            for version in versions:
                version.pop("private", None)
            versions.append(_new_version())
            self._replace({"versions": versions})
        return str(versions[-1]["kid"])

    def retire(self, kid: str) -> None:
        with self._locked():
            versions = self._read()["versions"]
            if not any(v["kid"] == kid for v in versions):
                raise SigningKeyNotFound(f"no signing key {kid!r}", details={"kid": kid})
            if versions[-1]["kid"] == kid:
                raise SigningKeyInUse(f"signing key {kid!r} is active; rotate first")
            self._replace({"versions": [v for v in versions if v["kid"] != kid]})

    def _load(self) -> _Loaded | None:
        try:
            found = self._path.stat()
        except FileNotFoundError:
            self._loaded = None
            return None
        stamp = (found.st_ino, found.st_mtime_ns, found.st_size)
        if self._loaded is None or self._loaded.stamp != stamp:
            self._loaded = _parse(stamp, json.loads(self._path.read_text()))
        return self._loaded

    def _read(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self._path.read_text()))
        except FileNotFoundError as error:
            raise SigningKeyNotFound("there is no signing keyring yet") from error

    @contextmanager
    def _locked(self) -> Iterator[None]:
        files.private_dir(self._path.parent)
        lock = os.open(self._path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, files.FILE_MODE)
        with os.fdopen(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _replace(self, document: dict[str, Any]) -> None:
        temporary = self._temporary()
        _write(temporary, document)
        temporary.replace(self._path)
        self._loaded = None

    def _temporary(self) -> Path:
        return self._path.with_name(f".{_FILE}.{uuid.uuid4().hex}")


def _write(path: Path, document: dict[str, Any]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())


def _new_version() -> dict[str, str]:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kid": uuid.uuid4().hex,
        "created_at": clock.utc_now().isoformat(),
        "public": base64.b64encode(raw_public).decode(),
        "private": base64.b64encode(raw_private).decode(),
    }


def _parse(stamp: tuple[int, int, int], document: dict[str, Any]) -> _Loaded:
    versions = document["versions"]
    public = {
        v["kid"]: Ed25519PublicKey.from_public_bytes(base64.b64decode(v["public"]))
        for v in versions
    }
    newest = versions[-1]
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(newest["private"]))
    return _Loaded(stamp, public, SigningKey(newest["kid"], private))
