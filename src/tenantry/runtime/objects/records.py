"""What an object's blob holds, and the ETag of a stored version.

An object is sealed as ``Binding(tenant, env, "object.framed", key)`` over a frame of its media
type and its bytes::

    frame version:u8 (1) | len(type):u8 | type (ASCII) | data

Objects written before types were kept hold their bare bytes, sealed as ``Binding(tenant, env,
"object", key)``; they read back as ``application/octet-stream`` and are framed when written
again. The purpose is authenticated with the record, so the two formats cannot be taken for each
other: bare bytes that happen to look like a frame are still read as bare bytes. A bare record
costs one failed key unwrap before it opens.

An ETag is a hash of the tenant, the environment, the key and the blob's version, which changes
with every write (each seal has fresh nonces, even for the same bytes). It is no hash of the
content, so equal objects do not show as equal, and it holds nothing but this tenant
environment's own record: no other tenant's object can share it or be told from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from tenantry.core import ids
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.objects.errors import ObjectCorrupt

FRAMED: Final = "object.framed"
BARE: Final = "object"
FRAME_VERSION: Final = 1
_ETAG_PERSON: Final = b"tenantry.etag"


@dataclass(frozen=True, slots=True)
class Record:
    content_type: str  # normalised (media.checked)
    data: bytes


def frame_size(content_type: str) -> int:
    """The bytes a frame adds to an object's data (before sealing)."""
    return 2 + len(content_type.encode("ascii"))


class Records:
    """Sealing, opening and ETags of one tenant environment's object records."""

    def __init__(self, tenant: str, env: str, sealer: Sealer) -> None:
        self._tenant = tenant
        self._env = env
        self._sealer = sealer

    def seal(self, key: str, record: Record) -> bytes:
        kind = record.content_type.encode("ascii")
        frame = bytes([FRAME_VERSION, len(kind)]) + kind + record.data
        return self._sealer.seal(self._binding(FRAMED, key), frame)

    def open(self, key: str, sealed: bytes, *, bare_type: str) -> Record:
        """The record at ``key``; a bare one has ``bare_type``. :class:`Undecryptable` when it
        opens as neither."""
        try:
            frame = self._sealer.open(self._binding(FRAMED, key), sealed)
        except Undecryptable:
            return Record(bare_type, self._sealer.open(self._binding(BARE, key), sealed))
        return _unframe(key, frame)

    def rewrap(self, key: str, sealed: bytes) -> bytes | None:
        """The record with its data key wrapped by the tenant's active key, None when it
        already is; :class:`Undecryptable` when its key unwraps for neither format."""
        try:
            return self._sealer.rewrap_stale(self._binding(FRAMED, key), sealed)
        except Undecryptable:
            return self._sealer.rewrap_stale(self._binding(BARE, key), sealed)

    def active_kid(self) -> str:
        return self._sealer.active_kid(self._tenant)

    def etag(self, key: str, version: str) -> str:
        """The ETag (unquoted, 32 hex digits) of the blob version at ``key``."""
        # Ids and keys hold no NUL (grammar, check_relative_key), so the join is unambiguous.
        material = "\x00".join((self._tenant, self._env, key, version)).encode()
        return hashlib.blake2b(material, digest_size=16, person=_ETAG_PERSON).hexdigest()

    def _binding(self, purpose: str, key: str) -> Binding:
        return Binding(self._tenant, self._env, purpose, key)


def _unframe(key: str, frame: bytes) -> Record:
    if len(frame) < 2 or frame[0] != FRAME_VERSION or len(frame) < 2 + frame[1]:
        raise ObjectCorrupt(f"object {ids.show(key)} is not a well-formed record")
    end = 2 + frame[1]
    try:
        content_type = frame[2:end].decode("ascii")
    except UnicodeDecodeError as error:
        raise ObjectCorrupt(f"object {ids.show(key)} has a malformed media type") from error
    return Record(content_type, frame[end:])
