"""The audit log's keys on local files (:class:`~tenantry.tenancy.audit.ports.AuditKeys`).

Checkpoints are signed with their own Ed25519 keyring (``{root}/audit-signing/keyring.json``,
never the token signing keys); its public history is never retired. The platform's request-HMAC
and pseudonym keys live in ``{root}/audit/platform.json`` (0600, created once). A tenant's
pseudonym key lives in the tenant's key file and is shredded with it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenantry.backends.keys.keyring import KEY_BYTES, Keyring
from tenantry.backends.keys.signing import SigningKeyring
from tenantry.core import files
from tenantry.tenancy.audit.ports import PublicKeyInfo

_SIGNING_FOLDER = "audit-signing"
_PLATFORM_FILE = ("audit", "platform.json")


class AuditKeyFiles:
    def __init__(self, root: Path, keyring: Keyring) -> None:
        self._signing = SigningKeyring(root, folder=_SIGNING_FOLDER)
        self._platform_path = root.joinpath(*_PLATFORM_FILE)
        self._platform: dict[str, bytes] | None = None
        self._keyring = keyring

    def checkpoint_key(self) -> tuple[str, Ed25519PrivateKey]:
        active = self._signing.active()
        return active.kid, active.private_key

    def public_keys(self) -> list[PublicKeyInfo]:
        history = self._signing.history()
        return [PublicKeyInfo(v["kid"], v["created_at"], v["public"]) for v in history]

    def rotate_checkpoint_key(self) -> str:
        """A new signing key; the old public keys stay in the history (exports list them)."""
        return self._signing.rotate()

    def request_key(self) -> bytes:
        return self._platform_keys()["request_hmac"]

    def platform_pseudonym_key(self) -> bytes:
        return self._platform_keys()["pseudonym"]

    def tenant_pseudonym_key(self, tenant: str) -> bytes | None:
        return self._keyring.pseudonym_key(tenant)

    def _platform_keys(self) -> dict[str, bytes]:
        if self._platform is None:
            self._ensure_platform()
            document = json.loads(self._platform_path.read_text())
            self._platform = {name: base64.b64decode(value) for name, value in document.items()}
        return self._platform

    def _ensure_platform(self) -> None:
        """Create the file once: written aside, then linked (fails if another process won)."""
        if self._platform_path.is_file():
            return
        files.private_dir(self._platform_path.parent)
        document = {
            name: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
            for name in ("request_hmac", "pseudonym")
        }
        temporary = self._platform_path.with_name(f".platform.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.FILE_MODE)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, self._platform_path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
