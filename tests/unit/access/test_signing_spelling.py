"""Signed tokens have one spelling (canonical base64url) and honour ``nbf``."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.tenancy.access.errors import InvalidToken
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role
from tenantry.tenancy.access.signing import (
    AUDIENCE,
    ISSUER,
    Claims,
    VerifiedTokens,
    canonical,
    sign,
    verify,
)

NOW = datetime(2031, 5, 1, 12, tzinfo=UTC)
LEEWAY = timedelta(seconds=30)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class CountingKeys:
    """The keyring, counting the public-key lookups (the first step of any crypto work)."""

    def __init__(self, keys: SigningKeyring) -> None:
        self.keys, self.lookups = keys, 0

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        self.lookups += 1
        return self.keys.public_key(kid)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.keys, name)


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeyring:
    return SigningKeyring(tmp_path)


def _claims(**change: Any) -> Claims:
    base: dict[str, Any] = {
        "subject": "alice",
        "kind": PrincipalKind.USER,
        "grants": (Grant("acme", Role.VIEWER),),
        "issued_at": int(NOW.timestamp()),
        "expires_at": int(NOW.timestamp()) + 3600,
        "jti": "0" * 32,
    }
    return Claims(**{**base, **change})


def _respelled(segment: str) -> str:
    """The same bytes with the last character's unused bits set (what lenient decoders accept)."""
    spare = {2: 0b1111, 3: 0b11}[len(segment) % 4]
    last = ALPHABET[ALPHABET.index(segment[-1]) | spare]
    return segment[:-1] + last


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _variants(token: str) -> list[str]:
    header, payload, signature = token.split(".")
    padded = [
        f"{header}.{payload}.{signature}==",
        f"{header}.{payload}.{signature}=",
        f"{header}==.{payload}.{signature}",
        f"{header}.{payload}==.{signature}",
    ]
    respelled = [
        ".".join(
            _respelled(part) if i == n else part
            for i, part in enumerate((header, payload, signature))
        )
        for n in range(3)
        if len((header, payload, signature)[n]) % 4 in (2, 3)
    ]
    standard = [token.replace("-", "+").replace("_", "/")] if "-" in token or "_" in token else []
    return padded + respelled + standard


def test_a_token_padded_or_respelled_is_refused_before_any_key_is_looked_up(
    keys: SigningKeyring,
) -> None:
    token = sign(_claims(), keys.active())
    variants = _variants(token)
    assert any(v.split(".")[2] != token.split(".")[2] for v in variants)
    for variant in variants:
        assert variant != token
        # Each variant carries the same bytes: a lenient decoder reads the same token.
        assert [
            _decode(p.rstrip("=").replace("+", "-").replace("/", "_")) for p in variant.split(".")
        ] == [_decode(p) for p in token.split(".")]
        counting = CountingKeys(keys)
        with pytest.raises(InvalidToken):
            verify(variant, counting, now=NOW, leeway=LEEWAY)
        assert counting.lookups == 0, variant
    verify(token, keys, now=NOW, leeway=LEEWAY)


def test_the_memo_never_verifies_a_variant_afresh(keys: SigningKeyring) -> None:
    counting = CountingKeys(keys)
    memo = VerifiedTokens(counting)
    token = sign(_claims(), keys.active())
    memo.verify(token, now=NOW, leeway=LEEWAY)
    before = counting.lookups
    for variant in _variants(token):
        with pytest.raises(InvalidToken):
            memo.verify(variant, now=NOW, leeway=LEEWAY)
    assert counting.lookups == before and len(memo._memo) == 1


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("", True),
        ("QQ", True),  # "A"
        ("QR", False),  # "A" with a stray bit
        ("QUE", True),  # "AA"
        ("QUF", False),
        ("QUFB", True),
        ("QUFB=", False),
        ("QQ==", False),
        ("Q", False),  # no length of bytes is one character
        ("QU+B", False),
        ("QU/B", False),
        ("QU B", False),
        ("QUFB\n", False),
        ("ＱＵＦＢ", False),  # noqa: RUF001 - full-width look-alikes
    ],
)
def test_canonical_base64url(segment: str, expected: bool) -> None:
    assert canonical(segment) is expected


def _with_nbf(keys: SigningKeyring, nbf: object) -> str:
    active = keys.active()
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "kind": "user",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
        "nbf": nbf,
        "jti": "a" * 32,
        "grants": [{"tenant": "acme", "team": None, "role": "viewer"}],
    }
    return jwt.encode(payload, active.private_key, algorithm="EdDSA", headers={"kid": active.kid})


@pytest.mark.parametrize(
    ("nbf_offset", "valid"),
    [
        (-3600, True),
        (0, True),
        (int(LEEWAY.total_seconds()), True),  # within the leeway, as for exp
        (int(LEEWAY.total_seconds()) + 1, False),
        (600, False),
    ],
)
def test_nbf_is_honoured_with_the_leeway(
    keys: SigningKeyring, nbf_offset: int, valid: bool
) -> None:
    token = _with_nbf(keys, int(NOW.timestamp()) + nbf_offset)
    memo = VerifiedTokens(keys)
    if valid:
        assert verify(token, keys, now=NOW, leeway=LEEWAY).subject == "alice"
        memo.verify(token, now=NOW, leeway=LEEWAY)
        return
    with pytest.raises(InvalidToken):
        verify(token, keys, now=NOW, leeway=LEEWAY)
    with pytest.raises(InvalidToken):
        memo.verify(token, now=NOW, leeway=LEEWAY)
    later = NOW + timedelta(seconds=nbf_offset)
    assert memo.verify(token, now=later, leeway=LEEWAY).subject == "alice"  # valid once due


@pytest.mark.parametrize("nbf", ["0", 1.5, True, None, [1]])
def test_an_nbf_of_the_wrong_shape_is_refused(keys: SigningKeyring, nbf: object) -> None:
    with pytest.raises(InvalidToken):
        verify(_with_nbf(keys, nbf), keys, now=NOW, leeway=LEEWAY)


def test_a_token_signed_with_nbf_carries_it(keys: SigningKeyring) -> None:
    claims = _claims(not_before=int(NOW.timestamp()) + 60)
    token = sign(claims, keys.active())
    payload = json.loads(_decode(token.split(".")[1]))
    assert payload["nbf"] == claims.not_before
    with pytest.raises(InvalidToken):
        verify(token, keys, now=NOW, leeway=LEEWAY)
    assert verify(token, keys, now=NOW + timedelta(minutes=1), leeway=LEEWAY) == claims
