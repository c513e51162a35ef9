"""Envelope encryption with per-tenant keys (DESIGN.md section 6, rule 3).

Every record gets a fresh data key; the record is sealed with it (AES-256-GCM) and the data key
is wrapped with the tenant's key-encryption key (AES-256-GCM again). Both seals bind the record's
:class:`Binding` — tenant, environment, purpose and record id — as associated data, so bytes
copied into another tenant's (or record's) place fail to open, and so does any flipped bit.

Layout of a sealed record::

    b"TNE1" | len(kid):u8 | kid | wrap nonce:12 | wrapped data key:48 | nonce:12 | ciphertext+tag

Rotating a tenant's key re-wraps data keys (:meth:`Sealer.rewrap`); payloads are untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tenantry.core.errors import InvalidInput, NotFound

MAGIC = b"TNE1"
_NONCE = 12
_DATA_KEY = 32
_TAG = 16
_WRAPPED = _DATA_KEY + _TAG
_MAX_KID = 255


class Undecryptable(InvalidInput):
    """Sealed bytes that are tampered, truncated, or bound to another tenant or record."""

    code = "crypto.undecryptable"


class KeySource(Protocol):
    """A tenant's key-encryption keys, by key id (``kid``)."""

    def active(self, tenant: str) -> tuple[str, bytes]:
        """The ``(kid, key)`` that seals new data."""
        ...

    def key(self, tenant: str, kid: str) -> bytes:
        """A key by id, active or retained; raises :class:`NotFound` when it is unknown."""
        ...


class KeyVersions(KeySource, Protocol):
    """A tenant's key versions as a key rotation or a crypto-shred changes them (the local
    keyring implements it); every change is idempotent, for steps a job may run again."""

    def kids(self, tenant: str) -> list[str]:
        """Key ids, oldest first; the last is active."""
        ...

    def rotate(self, tenant: str, *, replacing: str | None = None) -> str:
        """Add a new active version (only while ``replacing``, if given, is the active one);
        the active id."""
        ...

    def retire(self, tenant: str, kid: str) -> bool:
        """Remove an old version; False when there was none by that id."""
        ...

    def destroy(self, tenant: str) -> bool:
        """Remove every version (crypto-shredding); False when there was none."""
        ...


@dataclass(frozen=True, slots=True)
class Binding:
    """What a sealed record belongs to; it is authenticated, never stored in the clear."""

    tenant: str
    env: str
    purpose: str  # "session", "object", "secret", ...
    record: str  # the record's id within its purpose (a session path, an object key, ...)

    def aad(self) -> bytes:
        # Ids and keys cannot hold NUL (grammar, check_relative_key), so the join is injective.
        return "\x00".join(
            ("tenantry/v1", self.tenant, self.env, self.purpose, self.record)
        ).encode()


class Sealer:
    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    def seal(self, binding: Binding, plaintext: bytes) -> bytes:
        kid, kek = self._keys.active(binding.tenant)
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        body = AESGCM(data_key).encrypt(nonce, plaintext, binding.aad())
        return _header(kid, kek, data_key, binding) + nonce + body

    def open(self, binding: Binding, sealed: bytes) -> bytes:
        kid, wrap_nonce, wrapped, rest = _split(sealed)
        data_key = self._unwrap(binding, kid, wrap_nonce, wrapped)
        try:
            return AESGCM(data_key).decrypt(rest[:_NONCE], rest[_NONCE:], binding.aad())
        except InvalidTag as error:
            raise Undecryptable(_refused(binding)) from error

    def rewrap(self, binding: Binding, sealed: bytes) -> bytes:
        """The same record with its data key wrapped by the tenant's active key."""
        kid, wrap_nonce, wrapped, rest = _split(sealed)
        data_key = self._unwrap(binding, kid, wrap_nonce, wrapped)
        active_kid, kek = self._keys.active(binding.tenant)
        return _header(active_kid, kek, data_key, binding) + rest

    def active_kid(self, tenant: str) -> str:
        """The id of the key that seals ``tenant``'s new records."""
        return self._keys.active(tenant)[0]

    def rewrap_stale(self, binding: Binding, sealed: bytes) -> bytes | None:
        """:meth:`rewrap`, or None when the active key already wraps ``sealed``: a re-wrap run
        skips what it (or an interrupted run before it) already did. For any sealed blob, such
        as an archive file, as well as the stores' records."""
        if key_id(sealed) == self.active_kid(binding.tenant):
            return None
        return self.rewrap(binding, sealed)

    def _unwrap(self, binding: Binding, kid: str, nonce: bytes, wrapped: bytes) -> bytes:
        try:
            kek = self._keys.key(binding.tenant, kid)
            return AESGCM(kek).decrypt(nonce, wrapped, MAGIC + kid.encode() + binding.aad())
        except (InvalidTag, NotFound) as error:
            raise Undecryptable(_refused(binding)) from error


def sealed_size(plaintext: int, kid: str) -> int:
    """The length of a record of ``plaintext`` bytes sealed under key ``kid`` (the layout
    above; re-wrapping under a key id of the same length keeps it)."""
    return len(MAGIC) + 1 + len(kid.encode()) + _NONCE + _WRAPPED + _NONCE + plaintext + _TAG


def key_id(sealed: bytes) -> str:
    """The id of the key that wraps a sealed record (to find records still on an old key)."""
    return _split(sealed)[0]


def _header(kid: str, kek: bytes, data_key: bytes, binding: Binding) -> bytes:
    encoded = kid.encode()
    if not 0 < len(encoded) <= _MAX_KID:
        raise ValueError("a key id is 1 to 255 bytes")
    nonce = os.urandom(_NONCE)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, MAGIC + encoded + binding.aad())
    return MAGIC + bytes([len(encoded)]) + encoded + nonce + wrapped


def _split(sealed: bytes) -> tuple[str, bytes, bytes, bytes]:
    if len(sealed) < len(MAGIC) + 1 or not sealed.startswith(MAGIC):
        raise Undecryptable("not a sealed Tenantry record (bad header)")
    start = len(MAGIC) + 1
    end = start + sealed[len(MAGIC)]
    if len(sealed) < end + _NONCE + _WRAPPED + _NONCE + 16:
        raise Undecryptable("sealed record is truncated")
    try:
        kid = sealed[start:end].decode("ascii")
    except UnicodeDecodeError as error:
        raise Undecryptable("sealed record has a malformed key id") from error
    wrap_nonce = sealed[end : end + _NONCE]
    wrapped = sealed[end + _NONCE : end + _NONCE + _WRAPPED]
    return kid, wrap_nonce, wrapped, sealed[end + _NONCE + _WRAPPED :]


def _refused(binding: Binding) -> str:
    return (
        f"{binding.purpose} record {binding.record!r} of tenant {binding.tenant!r} does not "
        "decrypt: it was tampered with, truncated, or belongs to another tenant or record"
    )
