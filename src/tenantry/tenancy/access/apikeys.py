"""API key secrets: ``tnt_<id>_<secret>``, made, parsed and checked purely.

The id (16 hex digits) is the key's public handle: it is listed, used to revoke and used to find
the stored row in one indexed lookup. The secret part is 256 random bits, so the row keeps only
its SHA-256 digest: with that much entropy a preimage search is infeasible, and a slow password
hash (scrypt, Argon2), which exists to protect low-entropy passwords, would only add tens of
milliseconds to every request. Digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from tenantry.core.errors import InvalidInput
from tenantry.core.ids import show

PREFIX: Final = "tnt_"
_SHAPE = re.compile(r"tnt_([0-9a-f]{16})_[0-9a-f]{64}")
KEY_ID_PATTERN: Final = r"^[0-9a-f]{16}$"
_KEY_ID = re.compile(KEY_ID_PATTERN)


class InvalidKeyId(InvalidInput):
    code = "api_key.id_invalid"


@dataclass(frozen=True, slots=True)
class NewSecret:
    key_id: str
    secret: str  # shown once to whoever created the key
    digest: str  # what is stored


def generate() -> NewSecret:
    key_id, body = secrets.token_hex(8), secrets.token_hex(32)
    secret = f"{PREFIX}{key_id}_{body}"
    return NewSecret(key_id, secret, digest(secret))


def looks_like_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def key_id_of(credential: str) -> str | None:
    """The id of a well-formed key, or None."""
    match = _SHAPE.fullmatch(credential)
    return match.group(1) if match else None


def checked_key_id(value: object) -> str:
    """A key id from outside (a route or command): 16 lowercase hex digits."""
    if not isinstance(value, str) or _KEY_ID.fullmatch(value) is None:
        raise InvalidKeyId(f"invalid API key id {show(value)}: it is 16 lowercase hex digits")
    return value


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret).encode(), stored_digest.encode())
