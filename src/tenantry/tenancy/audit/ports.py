"""The keys the audit log uses, as a port (the local key files in ``backends/keys`` implement
it): a dedicated Ed25519 key for checkpoints, the platform's request-HMAC key, and pseudonym keys
(the tenant's lives with its other keys and is shredded with them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """One version of the checkpoint key, as the export lists it (raw key, base64)."""

    kid: str
    created_at: str
    public: str


class AuditKeys(Protocol):
    def checkpoint_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The ``(kid, key)`` that signs new checkpoints (created on first use)."""
        ...

    def public_keys(self) -> list[PublicKeyInfo]:
        """Every checkpoint key version ever used, oldest first (the history is kept)."""
        ...

    def request_key(self) -> bytes:
        """The platform's key for request HMACs."""
        ...

    def platform_pseudonym_key(self) -> bytes:
        """The key of pseudonyms of platform records (and of tenants without a key)."""
        ...

    def tenant_pseudonym_key(self, tenant: str) -> bytes | None:
        """The tenant's pseudonym key, None when the tenant has no keys (never had, or
        shredded): it is never created again once shredded."""
        ...
