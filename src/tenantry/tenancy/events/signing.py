"""Event signatures: Ed25519 over the canonical event, verifiable by any consumer of the bus.

The canonical event is the structured CloudEvents JSON object without its ``signature``
attribute, serialised with sorted keys, no whitespace and UTF-8 (``json.dumps(...,
sort_keys=True, separators=(",", ":"), ensure_ascii=False)``). ``signaturekid`` names the key
and is itself signed; ``signature`` is the unpadded base64url Ed25519 signature.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tenantry.core.errors import InvalidInput
from tenantry.tenancy.access.signing import SigningKey

SIGNATURE: Final = "signature"
KEY_ID: Final = "signaturekid"
MAX_EVENT_BYTES: Final = 1_000_000


class InvalidEventSignature(InvalidInput):
    code = "event.signature_invalid"


class EventKeys(Protocol):
    """The events signing keys (the events keyring in ``backends/keys``)."""

    def active(self) -> SigningKey: ...

    def public_key(self, kid: str) -> Ed25519PublicKey | None: ...

    def kids(self) -> list[str]: ...


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's signature covers: every attribute and ``data`` but ``signature``."""
    unsigned = {k: v for k, v in event.items() if k != SIGNATURE}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def sign(event: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """``event`` with ``signaturekid`` and ``signature`` set (any old ones replaced)."""
    signed = {k: v for k, v in event.items() if k != SIGNATURE}
    signed[KEY_ID] = key.kid
    raw = key.private_key.sign(canonical(signed))
    signed[SIGNATURE] = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return signed


def verify_event(
    event_json: str | bytes, public_keys: Mapping[str, Ed25519PublicKey | bytes]
) -> dict[str, Any]:
    """The event, parsed, if its signature verifies with the key its ``signaturekid`` names
    (``public_keys``: key id to an Ed25519 public key or its 32 raw bytes); otherwise
    :class:`InvalidEventSignature`. Pure: no I/O, no clock."""
    event = _parsed(event_json)
    kid, signature = event.get(KEY_ID), event.get(SIGNATURE)
    if not isinstance(kid, str) or not isinstance(signature, str):
        raise InvalidEventSignature("the event is not signed (no signaturekid or signature)")
    key = public_keys.get(kid)
    if key is None:
        raise InvalidEventSignature(f"the event is signed by an unknown key {kid[:64]!r}")
    public = key if isinstance(key, Ed25519PublicKey) else Ed25519PublicKey.from_public_bytes(key)
    try:
        public.verify(_decoded(signature), canonical(event))
    except InvalidSignature:
        raise InvalidEventSignature("the event's signature does not verify") from None
    return event


def _parsed(event_json: str | bytes) -> dict[str, Any]:
    if len(event_json) > MAX_EVENT_BYTES:
        raise InvalidEventSignature("the event is too large")
    try:
        event = json.loads(event_json)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEventSignature("the event is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidEventSignature("the event is not a JSON object")
    return event


def _decoded(signature: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        raise InvalidEventSignature("the event's signature is not base64url") from None
    if len(raw) != 64:
        raise InvalidEventSignature("the event's signature is not an Ed25519 signature")
    return raw
