"""Signed tokens: a round trip, and every way a token can be forged, bent or stale."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.access.errors import ExpiredToken, InvalidToken
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role
from tenantry.tenancy.access.signing import (
    AUDIENCE,
    ISSUER,
    Claims,
    SigningKey,
    VerifiedTokens,
    sign,
    verify,
)

NOW = datetime(2031, 5, 1, 12, tzinfo=UTC)
LEEWAY = timedelta(seconds=30)
GRANT = Grant("acme", Role.TEAM_MEMBER, "support")


def _claims(**change: Any) -> Claims:
    base: dict[str, Any] = {
        "subject": "alice@example.com",
        "kind": PrincipalKind.USER,
        "grants": (GRANT,),
        "issued_at": int(NOW.timestamp()),
        "expires_at": int(NOW.timestamp()) + 3600,
        "jti": "0" * 32,
    }
    return Claims(**{**base, **change})


def _payload(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "kind": "user",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
        "jti": "a" * 32,
        "grants": [{"tenant": "acme", "team": None, "role": "viewer"}],
    }
    base.update(change)
    return {key: value for key, value in base.items() if value is not _DROP}


_DROP = object()


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeyring:
    return SigningKeyring(tmp_path)


def _check(token: str, keys: SigningKeyring, *, now: datetime = NOW) -> Claims:
    return verify(token, keys, now=now, leeway=LEEWAY)


def _raw(keys: SigningKeyring, payload: dict[str, Any], **header: Any) -> str:
    """A token signed with the real active key, with any payload and header."""
    active = keys.active()
    return jwt.encode(
        payload, active.private_key, algorithm="EdDSA", headers={"kid": active.kid, **header}
    )


def _refused(token: str, keys: SigningKeyring, error: type[TenantryError] = InvalidToken) -> None:
    with pytest.raises(error) as refused:
        _check(token, keys)
    assert refused.value.kind is ErrorKind.UNAUTHENTICATED
    assert refused.value.code == error.code
    assert refused.value.message in {InvalidToken().message, ExpiredToken().message}


def test_a_signed_token_verifies_to_its_claims(keys: SigningKeyring) -> None:
    claims = _claims(grants=(GRANT, Grant("globex", Role.TENANT_ADMIN)))
    token = sign(claims, keys.active())
    assert _check(token, keys) == claims
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == keys.active().kid
    principal = claims.principal()
    assert (principal.id, principal.credential_id) == ("alice@example.com", "0" * 32)


def test_the_payload_has_the_documented_claims(keys: SigningKeyring) -> None:
    token = sign(_claims(), keys.active())
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload == {
        "iss": "tenantry",
        "aud": "tenantry-api",
        "sub": "alice@example.com",
        "kind": "user",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
        "jti": "0" * 32,
        "grants": [{"tenant": "acme", "team": "support", "role": "team-member"}],
    }


@pytest.mark.parametrize(
    ("offset", "outcome"),
    [
        (timedelta(seconds=3599), "ok"),
        (timedelta(seconds=3600) + LEEWAY - timedelta(seconds=1), "ok"),  # within the leeway
        (timedelta(seconds=3600) + LEEWAY, "expired"),
        (timedelta(days=2), "expired"),
        (-LEEWAY + timedelta(seconds=1), "ok"),  # a verifier slightly behind the issuer
        (-LEEWAY - timedelta(seconds=1), "invalid"),  # issued in the future
    ],
)
def test_expiry_and_issue_time_with_leeway(
    keys: SigningKeyring, offset: timedelta, outcome: str
) -> None:
    token = sign(_claims(), keys.active())
    if outcome == "ok":
        _check(token, keys, now=NOW + offset)
        return
    error = ExpiredToken if outcome == "expired" else InvalidToken
    with pytest.raises(error):
        _check(token, keys, now=NOW + offset)


def test_an_expired_forgery_is_invalid_not_expired(keys: SigningKeyring, tmp_path: Path) -> None:
    other = SigningKeyring(tmp_path / "other")
    forged = sign(_claims(expires_at=int(NOW.timestamp()) - 7200), other.active())
    _refused(forged, keys)  # the expiry is told only to holders of a genuine token


def test_a_token_signed_by_another_key_is_refused(keys: SigningKeyring) -> None:
    impostor = SigningKey(keys.active().kid, Ed25519PrivateKey.generate())  # same kid
    _refused(sign(_claims(), impostor), keys)


def test_an_unknown_kid_is_refused(keys: SigningKeyring) -> None:
    _refused(sign(_claims(), SigningKey("f" * 32, keys.active().private_key)), keys)
    _refused(_raw(keys, _payload(), kid="../../etc/passwd"), keys)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": 7}
    _refused(_encode(header, _payload(), keys.active().private_key.sign), keys)


def test_a_token_without_a_kid_is_refused(keys: SigningKeyring) -> None:
    token = jwt.encode(_payload(), keys.active().private_key, algorithm="EdDSA")
    _refused(token, keys)


def test_alg_none_is_refused(keys: SigningKeyring) -> None:
    token = jwt.encode(_payload(), "", algorithm="none", headers={"kid": keys.active().kid})
    _refused(token, keys)
    _refused(token.rsplit(".", 1)[0] + ".", keys)


def test_hs256_with_the_public_key_as_secret_is_refused(keys: SigningKeyring) -> None:
    public = keys.active().private_key.public_key()
    for secret in (
        public.public_bytes(Encoding.Raw, PublicFormat.Raw),
        public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
    ):
        header = {"alg": "HS256", "kid": keys.active().kid, "typ": "JWT"}
        body = json.dumps(_payload()).encode()
        token = _hs256(header, body, secret)
        _refused(token, keys)


def _encode(
    header: dict[str, Any], payload: dict[str, Any], sign_with: Callable[[bytes], bytes]
) -> str:
    """A JWS built by hand, for headers PyJWT itself refuses to write."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(payload).encode())}"
    return f"{signing_input}.{part(sign_with(signing_input.encode()))}"


def _hs256(header: dict[str, Any], body: bytes, secret: bytes) -> str:
    return _encode(
        header, json.loads(body), lambda data: hmac.new(secret, data, hashlib.sha256).digest()
    )


def _tamper(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    change(payload)
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["grants"].append({"tenant": "globex", "team": None, "role": "tenant-admin"}),
        lambda p: p["grants"][0].update(role="tenant-admin", team=None),
        lambda p: p.update(exp=p["exp"] + 86400),
        lambda p: p.update(sub="mallory"),
        lambda p: p.update(kind="platform-admin", grants=[]),
    ],
)
def test_a_tampered_payload_is_refused(
    keys: SigningKeyring, change: Callable[[dict[str, Any]], None]
) -> None:
    token = sign(_claims(), keys.active())
    _refused(_tamper(token, change), keys)


@pytest.mark.parametrize(
    "payload",
    [
        _payload(aud="someone-else"),
        _payload(aud=["tenantry-api", "someone-else"]),
        _payload(aud=_DROP),
        _payload(iss="evil"),
        _payload(iss=_DROP),
        _payload(exp=_DROP),
        _payload(iat=_DROP),
        _payload(jti=_DROP),
        _payload(sub=_DROP),
        _payload(kind=_DROP),
        _payload(grants=_DROP),
        _payload(exp=float(NOW.timestamp() + 3600)),
        _payload(exp=True),
        _payload(exp=int(NOW.timestamp()) - 10, iat=int(NOW.timestamp())),  # exp before iat
        _payload(jti="not-hex"),
        _payload(sub="has space"),
        _payload(sub=""),
        _payload(kind="root"),
        _payload(grants={"tenant": "acme", "role": "viewer"}),
        _payload(grants=[]),  # a user without grants
        _payload(grants=["acme"]),
        _payload(grants=[{"tenant": "ACME", "role": "viewer"}]),
        _payload(grants=[{"tenant": "global", "role": "viewer"}]),
        _payload(grants=[{"tenant": "acme", "team": "a..b", "role": "viewer"}]),
        _payload(grants=[{"tenant": "acme", "role": "owner"}]),
        _payload(grants=[{"tenant": "acme", "role": "platform-admin"}]),
        _payload(grants=[{"tenant": "acme", "team": "t", "role": "tenant-admin"}]),
        _payload(grants=[{"tenant": "acme", "role": "viewer", "env": "prod"}]),
        _payload(grants=[{"role": "viewer"}]),
        _payload(grants=[{"tenant": f"t{i}", "role": "viewer"} for i in range(65)]),
        _payload(kind="platform-admin"),  # a platform admin holding grants
    ],
)
def test_claims_of_the_wrong_shape_are_refused(
    keys: SigningKeyring, payload: dict[str, Any]
) -> None:
    _refused(_raw(keys, payload), keys)


def test_a_platform_admin_token_carries_no_grants(keys: SigningKeyring) -> None:
    claims = _claims(kind=PrincipalKind.PLATFORM_ADMIN, grants=())
    assert _check(sign(claims, keys.active()), keys).kind is PrincipalKind.PLATFORM_ADMIN


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "a.b.c.d", "...", "\x00.\x00.\x00", "é.é.é", "x" * 9000],
)
def test_garbage_is_refused(keys: SigningKeyring, token: str) -> None:
    _refused(token, keys)


def test_oversized_tokens_are_refused_before_parsing(keys: SigningKeyring) -> None:
    big = _payload(padding="x" * 9000)
    _refused(_raw(keys, big), keys)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.from_regex(
        r"[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}", fullmatch=True
    )
)
def test_any_string_is_either_a_token_or_invalid(
    tmp_path_factory: pytest.TempPathFactory, token: str
) -> None:
    keys = _shared_keys(tmp_path_factory)
    with pytest.raises(InvalidToken):
        _check(token, keys)


_KEYS: dict[str, SigningKeyring] = {}


def _shared_keys(factory: pytest.TempPathFactory) -> SigningKeyring:
    if "k" not in _KEYS:
        _KEYS["k"] = SigningKeyring(factory.mktemp("signing"))
        _KEYS["k"].active()
    return _KEYS["k"]


def test_rotation_keeps_old_tokens_until_the_key_is_retired(keys: SigningKeyring) -> None:
    first = keys.active().kid
    old = sign(_claims(), keys.active())
    second = keys.rotate()
    assert keys.kids() == [first, second] and keys.active().kid == second
    new = sign(_claims(), keys.active())
    assert jwt.get_unverified_header(new)["kid"] == second
    _check(old, keys)
    _check(new, keys)
    keys.retire(first)
    _refused(old, keys)
    _check(new, keys)


def test_the_memo_of_verified_tokens_still_checks_expiry_and_retirement(
    keys: SigningKeyring,
) -> None:
    memo = VerifiedTokens(keys, size=2)
    old = sign(_claims(), keys.active())
    assert memo.verify(old, now=NOW, leeway=LEEWAY) == _check(old, keys)
    assert memo.verify(old, now=NOW, leeway=LEEWAY).subject == "alice@example.com"  # a hit
    with pytest.raises(ExpiredToken):
        memo.verify(old, now=NOW + timedelta(days=1), leeway=LEEWAY)
    keys.rotate()
    new = sign(_claims(jti="1" * 32), keys.active())
    memo.verify(new, now=NOW, leeway=LEEWAY)
    keys.retire(jwt.get_unverified_header(old)["kid"])
    with pytest.raises(InvalidToken):
        memo.verify(old, now=NOW, leeway=LEEWAY)
    memo.verify(new, now=NOW, leeway=LEEWAY)


def test_the_memo_is_bounded_and_keeps_no_failures(keys: SigningKeyring) -> None:
    memo = VerifiedTokens(keys, size=3)
    tokens = [sign(_claims(jti=f"{i:032x}"), keys.active()) for i in range(10)]
    for token in tokens:
        memo.verify(token, now=NOW, leeway=LEEWAY)
    for _ in range(5):
        with pytest.raises(InvalidToken):
            memo.verify(
                _tamper(tokens[0], lambda p: p.update(sub="mallory")), now=NOW, leeway=LEEWAY
            )
    assert len(memo._memo) == 3  # the bound is the point
    assert [memo.verify(t, now=NOW, leeway=LEEWAY).jti for t in tokens] == [
        f"{i:032x}" for i in range(10)
    ]
