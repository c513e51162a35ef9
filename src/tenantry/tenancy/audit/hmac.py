"""The keyed HMAC of a request, recorded in place of the request itself.

SHIM (audit-coverage branch): the audit-chain branch writes this module too, with the same
signature; at merge one of the two is kept. A keyed HMAC, never a plain hash, which would let
anyone confirm a guessed secret sent in a body.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac


def request_hmac(key: bytes, method: str, path: str, body: bytes) -> str:
    """HMAC-SHA256 (hex) of the method, the path and the body, each length-prefixed so that
    no two requests give the same input."""
    mac = _hmac.new(key, digestmod=hashlib.sha256)
    for part in (method.encode("ascii"), path.encode("utf-8"), body):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return mac.hexdigest()
