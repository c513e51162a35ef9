"""Signed access tokens: EdDSA (Ed25519) JWTs with a ``kid``, signed and verified purely.

A token names its principal (``sub``), the principal's ``kind`` and the ``grants`` it carries
(``[{tenant, team, role}]``); ``iss``, ``aud``, ``iat``, ``exp``, ``jti`` (and, when a token has
one, ``nbf``) are standard. The
keys come from a :class:`SigningKeys` source (the signing keyring in ``backends/keys``), which
keeps retired-from-signing public keys for verification until they are retired for good.

Verification accepts only canonical base64url segments (no padding, no stray bits: one token has
one spelling) and ``alg=EdDSA`` with a known ``kid``, all before any key is used; then checks the
signature, audience, issuer and the shape of every claim, then ``nbf`` and the expiry against the
injected clock with a small leeway. Every failure but expiry is one indistinct
:class:`InvalidToken`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tenantry.core import ids
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.access import schemas
from tenantry.tenancy.access.errors import ExpiredToken, InvalidToken
from tenantry.tenancy.access.schemas import Conversation, Grant, Principal, PrincipalKind, Role

ISSUER: Final = "tenantry"
AUDIENCE: Final = "tenantry-api"
ALGORITHM: Final = "EdDSA"
MAX_TOKEN_CHARS: Final = 8192  # refuse oversized input before any parsing
MAX_GRANTS: Final = 64
_REQUIRED: Final = ["iss", "aud", "sub", "iat", "exp", "jti"]
_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_JTI = re.compile(r"[0-9a-f]{32}")
_GRANT_KEYS: Final = frozenset({"tenant", "team", "role"})
_CONVERSATION_KEYS: Final = frozenset({"env", "team", "channel", "session", "user"})
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The bits of a segment's last character that encode nothing, by the segment's length mod 4.
_SPARE_BITS: Final = {0: 0, 2: 0b1111, 3: 0b11}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


class SigningKeys(Protocol):
    """Where signing keys live: the active private key and every verifiable public key."""

    def active(self) -> SigningKey:
        """The key new tokens are signed with (created on first use)."""
        ...

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key ``kid`` names, or None if unknown or retired (cheap: cached)."""
        ...

    def kids(self) -> list[str]:
        """Key ids, oldest first; the last one signs."""
        ...

    def rotate(self) -> str:
        """Add a new signing key; older ones keep verifying until retired."""
        ...

    def retire(self, kid: str) -> None:
        """Stop accepting tokens signed with ``kid`` (never the active key)."""
        ...


@dataclass(frozen=True, slots=True)
class Claims:
    subject: str
    kind: PrincipalKind
    grants: tuple[Grant, ...]
    issued_at: int  # seconds since the epoch, as in the JWT
    expires_at: int
    jti: str
    not_before: int | None = None  # ``nbf``: tokens we issue have none
    conversation: Conversation | None = None  # ``conv``: a visitor token's, only

    def principal(self) -> Principal:
        return Principal(
            self.subject, self.kind, self.grants, self.jti, self.expires_at, self.conversation
        )


def sign(claims: Claims, key: SigningKey) -> str:
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": claims.subject,
        "kind": claims.kind.value,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "jti": claims.jti,
        "grants": [
            {"tenant": g.tenant_id, "team": g.team_id, "role": g.role.value} for g in claims.grants
        ],
    }
    if claims.not_before is not None:
        payload["nbf"] = claims.not_before
    if claims.conversation is not None:
        c = claims.conversation
        payload["conv"] = {
            "env": c.env_id,
            "team": c.team_id,
            "channel": c.channel_id,
            "session": c.session_id,
            "user": c.user_id,
        }
    return jwt.encode(payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def verify(token: str, keys: SigningKeys, *, now: datetime, leeway: timedelta) -> Claims:
    """The claims of a genuine, unexpired token; :class:`InvalidToken` or :class:`ExpiredToken`."""
    _, public = _key_for(token, keys)
    claims = _verified(token, public)
    _check_times(claims, now=now, leeway=leeway)
    return claims


class VerifiedTokens:
    """:func:`verify` with a bounded memo of tokens whose signature and claims were checked.

    A client presents the same token on every request: a repeat skips the parsing and the
    signature check (the same bytes verify the same way), never the expiry nor the check that
    the signing key is still accepted, so a retirement takes effect at once.
    """

    def __init__(self, keys: SigningKeys, *, size: int = 4096) -> None:
        self._keys, self._size = keys, size
        self._memo: dict[str, tuple[str, Claims]] = {}

    def verify(self, token: str, *, now: datetime, leeway: timedelta) -> Claims:
        found = self._memo.get(token)
        if found is None:
            kid, public = _key_for(token, self._keys)
            found = (kid, _verified(token, public))
            if len(self._memo) >= self._size:
                del self._memo[next(iter(self._memo))]  # the oldest entry
            self._memo[token] = found
        elif self._keys.public_key(found[0]) is None:
            del self._memo[token]
            raise InvalidToken
        _check_times(found[1], now=now, leeway=leeway)
        return found[1]


def _verified(token: str, public: Ed25519PublicKey) -> Claims:
    try:
        payload = jwt.decode(
            token,
            public,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": _REQUIRED,
                "verify_exp": False,  # _check_times does, against the injected clock
                "verify_iat": False,
                "verify_nbf": False,
                "strict_aud": True,
            },
        )
    except (jwt.InvalidTokenError, ValueError, TypeError) as error:
        raise InvalidToken from error
    return _claims(payload)


def _key_for(token: object, keys: SigningKeys) -> tuple[str, Ed25519PublicKey]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise InvalidToken
    if not all(canonical(segment) for segment in token.split(".")):
        raise InvalidToken  # a padded or re-spelled variant: refused before any crypto work
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.InvalidTokenError, ValueError, TypeError) as error:
        raise InvalidToken from error
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise InvalidToken
    public = keys.public_key(kid)
    if public is None:
        raise InvalidToken
    return kid, public


def canonical(segment: str) -> bool:
    """Whether ``segment`` is base64url as RFC 7515 writes it: the URL-safe alphabet, no ``=``
    padding, and zero bits where the last character carries no data."""
    if _SEGMENT.fullmatch(segment) is None or len(segment) % 4 == 1:
        return False
    spare = _SPARE_BITS[len(segment) % 4]
    return not spare or _ALPHABET.index(segment[-1]) & spare == 0


def _claims(payload: dict[str, Any]) -> Claims:
    try:
        kind = PrincipalKind(str(payload["kind"]))
        visitor = kind is PrincipalKind.VISITOR
        claims = Claims(
            subject=_subject(payload["sub"]),
            kind=kind,
            grants=_visitor_grants(payload) if visitor else _grants(payload.get("grants")),
            issued_at=_seconds(payload["iat"]),
            expires_at=_seconds(payload["exp"]),
            jti=_jti(payload["jti"]),
            not_before=None if "nbf" not in payload else _seconds(payload["nbf"]),
            conversation=_conversation(payload["conv"]) if visitor else None,
        )
    except (InvalidInput, ValueError, KeyError) as error:
        raise InvalidToken from error
    if claims.conversation is None and "conv" in payload:
        raise InvalidToken  # only a visitor token is bound to a conversation
    # A platform admin acts on tenants only explicitly, never through grants; others need one.
    if (kind is PrincipalKind.PLATFORM_ADMIN) == bool(claims.grants):
        raise InvalidToken
    return claims


def _subject(value: object) -> str:
    subject = schemas.principal_id(value)
    if schemas.builtin_subject(subject):  # issued before such subjects were reserved
        raise ValueError("a token never names a built-in principal")
    return subject


def _grants(value: object) -> tuple[Grant, ...]:
    if not isinstance(value, list) or len(value) > MAX_GRANTS:
        raise ValueError("grants must be a list")
    found = []
    for item in value:
        if not isinstance(item, dict) or not item.keys() <= _GRANT_KEYS:
            raise ValueError("a grant is an object of tenant, team and role")
        found.append(schemas.checked_grant(item.get("tenant"), item.get("role"), item.get("team")))
    return tuple(found)


def _visitor_grants(payload: dict[str, Any]) -> tuple[Grant, ...]:
    """A visitor token's one grant: the visitor role on its conversation's tenant and team."""
    value = payload.get("grants")
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise ValueError("a visitor token carries one grant")
    item, conv = value[0], payload.get("conv")
    if item.keys() != _GRANT_KEYS or item["role"] != Role.VISITOR.value:
        raise ValueError("a visitor token's grant is the visitor role")
    if not isinstance(conv, dict) or conv.get("team") != item["team"]:
        raise ValueError("a visitor's grant names its conversation's team")
    team = None if item["team"] is None else ids.team_id(item["team"])
    return (Grant(ids.tenant_id(item["tenant"]), Role.VISITOR, team),)


def _conversation(value: object) -> Conversation:
    if not isinstance(value, dict) or value.keys() != _CONVERSATION_KEYS:
        raise ValueError("conv names env, team, channel, session and user")
    user = value["user"]
    if not isinstance(user, str) or not 1 <= len(user) <= schemas.MAX_VISITOR_USER:
        raise ValueError("a visitor's user is a short string")
    return Conversation(
        env_id=ids.env_id(value["env"]),
        team_id=None if value["team"] is None else ids.team_id(value["team"]),
        channel_id=ids.channel_id(value["channel"]),
        session_id=ids.session_id(value["session"]),
        user_id=schemas.visitor_user(user),
    )


def _seconds(value: object) -> int:
    if type(value) is not int:  # bool is an int subclass; floats are not ours
        raise ValueError("timestamps are integers")
    return value


def _jti(value: object) -> str:
    if not isinstance(value, str) or not _JTI.fullmatch(value):
        raise ValueError("jti is 32 lowercase hex digits")
    return value


def _check_times(claims: Claims, *, now: datetime, leeway: timedelta) -> None:
    moment, slack = now.timestamp(), leeway.total_seconds()
    if claims.expires_at <= claims.issued_at or claims.issued_at > moment + slack:
        raise InvalidToken
    if claims.not_before is not None and claims.not_before > moment + slack:
        raise InvalidToken  # not valid yet (the same leeway as the expiry)
    if moment >= claims.expires_at + slack:
        raise ExpiredToken
