"""Tokens an attacker could make from a genuine one: tampered, unsigned, signed with the wrong
key or algorithm, for another issuer or audience; and a genuine but expired one.

Each is B's token changed so that it would act for A if it were accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.core import ids
from tenantry.tenancy.access import signing
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _part(document: dict[str, Any]) -> str:
    return _b64(json.dumps(document, separators=(",", ":")).encode())


def _hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    signed = f"{_part(header)}.{_part(payload)}"
    mac = hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest()
    return f"{signed}.{_b64(mac)}"


def _claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = token.split(".")
    header: dict[str, Any] = json.loads(_unb64(head))
    payload: dict[str, Any] = json.loads(_unb64(body))
    return header, payload


def _public_forms(data_dir: Path, kid: str) -> tuple[bytes, bytes]:
    """The deployment's public key ``kid`` as PEM and as raw bytes (what an attacker has)."""
    public = SigningKeyring(data_dir.resolve()).public_key(kid)
    assert public is not None
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def forged(token: str, *, victim: str, data_dir: Path) -> dict[str, str]:
    """Label -> a forged token, from ``token`` (genuine), each granting ``victim``'s tenant."""
    header, payload = _claims(token)
    head, body, signature = token.split(".")
    stolen = {**payload, "grants": [{"tenant": victim, "team": None, "role": "tenant-admin"}]}
    flipped = bytearray(_unb64(signature))
    flipped[10] ^= 0x01
    pem, raw_public = _public_forms(data_dir, header["kid"])
    hs_header = {"alg": "HS256", "typ": "JWT", "kid": header["kid"]}
    none_header = {"alg": "none", "typ": "JWT", "kid": header["kid"]}
    return {
        "payload-tampered": f"{head}.{_part(stolen)}.{signature}",
        "signature-changed": f"{head}.{body}.{_b64(bytes(flipped))}",
        "signature-dropped": f"{head}.{body}.",
        "alg-none": f"{_part(none_header)}.{_part(stolen)}.",
        "alg-none-own-claims": f"{_part(none_header)}.{body}.",
        "hs256-public-pem": _hs256(hs_header, stolen, pem),
        "hs256-public-raw": _hs256(hs_header, stolen, raw_public),
        **_signed_elsewhere(stolen, header["kid"], data_dir),
    }


def _signed_elsewhere(stolen: dict[str, Any], kid: str, data_dir: Path) -> dict[str, str]:
    """Signed by another issuer's key, or by the genuine key for another issuer or audience."""
    stranger = Ed25519PrivateKey.generate()
    active = SigningKeyring(data_dir.resolve()).active()

    def genuine(claims: dict[str, Any]) -> str:
        return jwt.encode(claims, active.private_key, "EdDSA", headers={"kid": active.kid})

    return {
        "other-issuer-key-same-kid": jwt.encode(stolen, stranger, "EdDSA", headers={"kid": kid}),
        "other-issuer-key-other-kid": jwt.encode(
            stolen, stranger, "EdDSA", headers={"kid": "other-issuer-1"}
        ),
        "issuer-other": genuine({**stolen, "iss": "evil"}),
        "audience-other": genuine({**stolen, "aud": "another-api"}),
    }


def expired(principal: str, tenant: str, *, data_dir: Path) -> str:
    """A genuine token of ``principal`` for ``tenant``, signed by the deployment, that expired
    an hour ago (well past the verification leeway)."""
    now = int(datetime.now(UTC).timestamp())
    hour = int(timedelta(hours=1).total_seconds())
    claims = signing.Claims(
        subject=principal,
        kind=PrincipalKind.USER,
        grants=(Grant(ids.tenant_id(tenant), Role.TENANT_ADMIN),),
        issued_at=now - 2 * hour,
        expires_at=now - hour,
        jti="0" * 32,
    )
    return signing.sign(claims, SigningKeyring(data_dir.resolve()).active())
