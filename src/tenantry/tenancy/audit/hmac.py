"""Keyed digests for the audit log: the request HMAC and pseudonymised user ids.

Both are HMAC-SHA256, never a plain hash: a plain hash of a request or a user id would let
anyone confirm a guess. Pure functions; the keys come from :class:`~.ports.AuditKeys`.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
from typing import Final

PLATFORM_SCOPE: Final = "p"  # a pseudonym under the platform's key (no tenant, or no tenant key)
TENANT_SCOPE: Final = "t"  # a pseudonym under the tenant's key: unlinkable once it is shredded


def request_hmac(key: bytes, method: str, path: str, body: bytes, *, tenant: str = "") -> str:
    """The hex HMAC-SHA256 of a request: method, path, tenant and the body's SHA-256 digest,
    one per line (so no field can run into the next)."""
    digest = hashlib.sha256(body).hexdigest()
    message = "\n".join((method.upper(), path, tenant, digest)).encode()
    return _hmac.new(key, message, hashlib.sha256).hexdigest()


def pseudonym(key: bytes, user_id: str, *, scope: str) -> str:
    """The stored form of a user id: ``{scope}:{hex HMAC}``; the id itself is never stored."""
    return f"{scope}:{_hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()}"
